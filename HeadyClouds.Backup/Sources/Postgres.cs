using Npgsql;

namespace HeadyClouds.Backup.Sources;

/// <summary>
/// pg_dump (custom format, uncompressed: the part is compressed once, by the backup) streamed from its standard output,
/// and pg_restore streamed into its standard input. Credentials reach the tools through PG* environment variables,
/// never the command line.
/// </summary>
public sealed class Postgres(string binDirectory)
{
    public const string DefaultBin = "/usr/lib/postgresql/15/bin";

    private string Tool(string name)
    {
        var path = Path.Combine(binDirectory, name);
        return File.Exists(path) ? path : name;
    }

    public static IReadOnlyDictionary<string, string?> Environment(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var environment = new Dictionary<string, string?>
        {
            ["PGHOST"] = b.Host,
            ["PGPORT"] = b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGUSER"] = b.Username,
            ["PGPASSWORD"] = b.Password,
            ["PGDATABASE"] = b.Database,
            ["PGSSLMODE"] = b.SslMode switch
            {
                SslMode.Disable => "disable",
                SslMode.Require => "require",
                SslMode.VerifyCA => "verify-ca",
                SslMode.VerifyFull => "verify-full",
                _ => "prefer",
            },
            ["PGCONNECT_TIMEOUT"] = "30",
        };
        // verify-full needs the CA the server is certified by (the internal CA's bundle in local mode); libpq would
        // otherwise look for ~/.postgresql/root.crt.
        if (!string.IsNullOrEmpty(b.RootCertificate))
        {
            environment["PGSSLROOTCERT"] = b.RootCertificate;
        }

        // The client certificate a server that requires one (the local data tier in the mesh) checks.
        if (!string.IsNullOrEmpty(b.SslCertificate))
        {
            environment["PGSSLCERT"] = b.SslCertificate;
            environment["PGSSLKEY"] = b.SslKey;
        }

        return environment;
    }

    /// <summary>One consistent snapshot of the database (pg_dump runs in a single repeatable-read transaction).</summary>
    public async Task DumpAsync(string connectionString, Stream destination, CancellationToken ct)
    {
        using var process = Tools.Start(Tool("pg_dump"), ["--format=custom", "--compress=0", "--no-password"],
            Environment(connectionString), stdin: false, stdout: true);
        using var kill = ct.Register(() => Tools.Kill(process));
        var errors = Tools.ReadErrorsAsync(process);
        await process.StandardOutput.BaseStream.CopyToAsync(destination, 1024 * 1024, ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_dump of database '{new NpgsqlConnectionStringBuilder(connectionString).Database}' failed ({process.ExitCode}): {await errors}");
        }
    }

    /// <summary>Restores into an existing, empty database, in one transaction (a failure leaves it empty).</summary>
    public async Task RestoreAsync(string connectionString, Stream source, CancellationToken ct)
    {
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        using var process = Tools.Start(Tool("pg_restore"),
            ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password", "--dbname", database],
            Environment(connectionString), stdin: true, stdout: false);
        using var kill = ct.Register(() => Tools.Kill(process));
        var errors = Tools.ReadErrorsAsync(process);
        try
        {
            await source.CopyToAsync(process.StandardInput.BaseStream, 1024 * 1024, ct);
            await process.StandardInput.BaseStream.FlushAsync(ct);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // pg_restore stopped reading (it failed): its exit code and messages say why.
        }

        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_restore into database '{database}' failed ({process.ExitCode}): {await errors}");
        }
    }

    /// <summary>Missing → created; present and holding any table, view or sequence outside the system schemas → refused (false).</summary>
    public static async Task<bool> IsAbsentOrEmptyAsync(string connectionString, CancellationToken ct)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        await using var admin = await OpenMaintenanceAsync(builder, ct);
        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @n", admin))
        {
            exists.Parameters.AddWithValue("n", builder.Database!);
            if ((long)(await exists.ExecuteScalarAsync(ct))! == 0)
            {
                return true;
            }
        }

        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r','p','v','m','S','f')",
            connection);
        return (long)(await command.ExecuteScalarAsync(ct))! == 0;
    }

    public static async Task CreateIfMissingAsync(string connectionString, CancellationToken ct)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        await using var admin = await OpenMaintenanceAsync(builder, ct);
        await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @n", admin);
        exists.Parameters.AddWithValue("n", builder.Database!);
        if ((long)(await exists.ExecuteScalarAsync(ct))! == 0)
        {
            var quoted = "\"" + builder.Database!.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
            await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", admin);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task<NpgsqlConnection> OpenMaintenanceAsync(NpgsqlConnectionStringBuilder target, CancellationToken ct)
    {
        var builder = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = "postgres", Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }
}
