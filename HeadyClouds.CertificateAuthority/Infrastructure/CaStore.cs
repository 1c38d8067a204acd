using Microsoft.Data.Sqlite;

namespace HeadyClouds.CertificateAuthority.Infrastructure;

public sealed record CaCertificateRow(long Generation, string KeyLabel, byte[] Der, DateTimeOffset ActivatesAt);

public sealed record IssuedRow(string Serial, string Service, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset IssuedAt, string? RenewedFrom, DateTimeOffset? RevokedAt);

/// <summary>
/// The CA's state in one SQLite file (decision 0006: the CA starts before the data tier, whose server certificates it
/// issues, so it cannot keep its state in PostgreSQL). Schema versions via <c>PRAGMA user_version</c>, applied in order at start.
/// </summary>
public sealed class CaStore
{
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE ca_certificates (
            generation   INTEGER PRIMARY KEY,
            key_label    TEXT NOT NULL UNIQUE,
            der          BLOB NOT NULL,
            activates_at INTEGER NOT NULL);
        CREATE TABLE join_tokens (
            token_hash   TEXT PRIMARY KEY,
            service      TEXT NOT NULL,
            created_at   INTEGER NOT NULL,
            expires_at   INTEGER NULL,
            used_at      INTEGER NULL);
        CREATE TABLE certificates (
            serial       TEXT PRIMARY KEY,
            service      TEXT NOT NULL,
            not_before   INTEGER NOT NULL,
            not_after    INTEGER NOT NULL,
            issued_at    INTEGER NOT NULL,
            renewed_from TEXT NULL,
            revoked_at   INTEGER NULL,
            revoke_reason TEXT NULL);
        CREATE INDEX certificates_service ON certificates(service, issued_at);
        """,
    ];

    private readonly string connectionString;

    public CaStore(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new InvalidOperationException("CertificateAuthority:StatePath must name the CA's state file.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
        Migrate();
    }

    private void Migrate()
    {
        using var connection = Open();
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            wal.ExecuteNonQuery();
        }

        var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version;"));
        for (var i = version; i < Migrations.Length; i++)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Migrations[i] + $"\nPRAGMA user_version = {i + 1};";
            command.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    public IReadOnlyList<CaCertificateRow> CaCertificates()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT generation, key_label, der, activates_at FROM ca_certificates ORDER BY generation";
        using var reader = command.ExecuteReader();
        var rows = new List<CaCertificateRow>();
        while (reader.Read())
        {
            rows.Add(new CaCertificateRow(reader.GetInt64(0), reader.GetString(1), (byte[])reader.GetValue(2), FromMs(reader.GetInt64(3))));
        }

        return rows;
    }

    public void AddCaCertificate(CaCertificateRow row) => Execute(
        "INSERT INTO ca_certificates (generation, key_label, der, activates_at) VALUES ($g, $l, $d, $a)",
        ("$g", row.Generation), ("$l", row.KeyLabel), ("$d", row.Der), ("$a", Ms(row.ActivatesAt)));

    /// <summary>Registers a token hash unless known (a configured token used once stays used across restarts).</summary>
    public void AddJoinToken(string tokenHash, string service, DateTimeOffset now, DateTimeOffset? expiresAt) => Execute(
        "INSERT INTO join_tokens (token_hash, service, created_at, expires_at) VALUES ($h, $s, $c, $e) ON CONFLICT(token_hash) DO NOTHING",
        ("$h", tokenHash), ("$s", service), ("$c", Ms(now)), ("$e", expiresAt is null ? DBNull.Value : Ms(expiresAt.Value)));

    /// <summary>Marks the token used, atomically; returns the service it is bound to, or null if unknown, used or expired.</summary>
    public string? ConsumeJoinToken(string tokenHash, DateTimeOffset now)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE join_tokens SET used_at = $now
            WHERE token_hash = $h AND used_at IS NULL AND (expires_at IS NULL OR expires_at > $now)
            RETURNING service
            """;
        command.Parameters.AddWithValue("$h", tokenHash);
        command.Parameters.AddWithValue("$now", Ms(now));
        return command.ExecuteScalar() as string;
    }

    public void AddIssued(IssuedRow row) => Execute(
        "INSERT INTO certificates (serial, service, not_before, not_after, issued_at, renewed_from) VALUES ($s, $svc, $nb, $na, $i, $r)",
        ("$s", row.Serial), ("$svc", row.Service), ("$nb", Ms(row.NotBefore)), ("$na", Ms(row.NotAfter)), ("$i", Ms(row.IssuedAt)),
        ("$r", (object?)row.RenewedFrom ?? DBNull.Value));

    public IssuedRow? FindIssued(string serial) => QueryIssued("WHERE serial = $s", ("$s", serial)).SingleOrDefault();

    public IReadOnlyList<IssuedRow> ListIssued(string? service) =>
        service is null ? QueryIssued("ORDER BY issued_at") : QueryIssued("WHERE service = $svc ORDER BY issued_at", ("$svc", service));

    /// <summary>True if it was issued here and is now revoked (revoking twice keeps the first time).</summary>
    public bool Revoke(string serial, DateTimeOffset now, string? reason)
    {
        Execute("UPDATE certificates SET revoked_at = $now, revoke_reason = $r WHERE serial = $s AND revoked_at IS NULL",
            ("$s", serial), ("$now", Ms(now)), ("$r", (object?)reason ?? DBNull.Value));
        return FindIssued(serial)?.RevokedAt is not null;
    }

    private List<IssuedRow> QueryIssued(string clause, params (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT serial, service, not_before, not_after, issued_at, renewed_from, revoked_at FROM certificates " + clause;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var reader = command.ExecuteReader();
        var rows = new List<IssuedRow>();
        while (reader.Read())
        {
            rows.Add(new IssuedRow(reader.GetString(0), reader.GetString(1), FromMs(reader.GetInt64(2)), FromMs(reader.GetInt64(3)), FromMs(reader.GetInt64(4)),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : FromMs(reader.GetInt64(6))));
        }

        return rows;
    }

    private void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    private static long Ms(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}
