using Microsoft.Data.Sqlite;

namespace Heady.Cli.Sync;

/// <summary>One chunk of a synced file, as recorded locally (offsets follow from the order).</summary>
public readonly record struct LocalChunk(string Id, int Length);

/// <summary>What the folder looked like at the last sync of a path: the stat data that lets a later scan skip
/// re-reading an unchanged file, its content, and the server version it corresponds to.</summary>
public sealed record FileRecord(
    string Path,
    long Size,
    long MtimeTicks,
    long Inode,
    string ContentHash,
    IReadOnlyList<LocalChunk> Chunks,
    Guid VersionId);

/// <summary><c>&lt;folder&gt;/.heady/state.db</c>: the sync state of one folder (SQLite, WAL).</summary>
public sealed class LocalState : IDisposable
{
    private readonly SqliteConnection connection;

    private LocalState(SqliteConnection connection) => this.connection = connection;

    public static string DirectoryOf(string root) => Path.Combine(root, LocalPaths.StateFolder);

    public static bool Exists(string root) => File.Exists(Path.Combine(DirectoryOf(root), "state.db"));

    public static LocalState Open(string root)
    {
        var dir = DirectoryOf(root);
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory(Path.Combine(dir, "tmp"));
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dir, "state.db"),
            Pooling = false,
        }.ToString());
        connection.Open();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS files (
                    path TEXT PRIMARY KEY,
                    size INTEGER NOT NULL,
                    mtime INTEGER NOT NULL,
                    inode INTEGER NOT NULL,
                    content_hash TEXT NOT NULL,
                    chunks TEXT NOT NULL,
                    version_id TEXT NOT NULL);
                """;
            command.ExecuteNonQuery();
        }

        return new LocalState(connection);
    }

    public string? GetMeta(string key)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = $k";
        command.Parameters.AddWithValue("$k", key);
        return command.ExecuteScalar() as string;
    }

    public void SetMeta(string key, string? value)
    {
        using var command = connection.CreateCommand();
        command.CommandText = value is null
            ? "DELETE FROM meta WHERE key = $k"
            : "INSERT INTO meta (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        command.Parameters.AddWithValue("$k", key);
        if (value is not null)
        {
            command.Parameters.AddWithValue("$v", value);
        }

        command.ExecuteNonQuery();
    }

    public Guid? WorkspaceId
    {
        get => Guid.TryParse(GetMeta("workspace_id"), out var id) ? id : null;
        set => SetMeta("workspace_id", value?.ToString());
    }

    public string? WorkspaceName
    {
        get => GetMeta("workspace_name");
        set => SetMeta("workspace_name", value);
    }

    /// <summary>The change-feed position everything in <c>files</c> is consistent with.</summary>
    public string? Cursor
    {
        get => GetMeta("cursor");
        set => SetMeta("cursor", value);
    }

    public Dictionary<string, FileRecord> AllFiles()
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT path, size, mtime, inode, content_hash, chunks, version_id FROM files";
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, FileRecord>(StringComparer.Ordinal);
        while (reader.Read())
        {
            var record = Read(reader);
            result[record.Path] = record;
        }

        return result;
    }

    public FileRecord? Get(string path)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT path, size, mtime, inode, content_hash, chunks, version_id FROM files WHERE path = $p";
        command.Parameters.AddWithValue("$p", path);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    public void Upsert(FileRecord record)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO files (path, size, mtime, inode, content_hash, chunks, version_id) VALUES ($p, $s, $m, $i, $h, $c, $v)
            ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, inode = excluded.inode,
                content_hash = excluded.content_hash, chunks = excluded.chunks, version_id = excluded.version_id
            """;
        command.Parameters.AddWithValue("$p", record.Path);
        command.Parameters.AddWithValue("$s", record.Size);
        command.Parameters.AddWithValue("$m", record.MtimeTicks);
        command.Parameters.AddWithValue("$i", record.Inode);
        command.Parameters.AddWithValue("$h", record.ContentHash);
        command.Parameters.AddWithValue("$c", string.Join(',', record.Chunks.Select(c => $"{c.Id}:{c.Length}")));
        command.Parameters.AddWithValue("$v", record.VersionId.ToString());
        command.ExecuteNonQuery();
    }

    public void Delete(string path)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM files WHERE path = $p";
        command.Parameters.AddWithValue("$p", path);
        command.ExecuteNonQuery();
    }

    /// <summary>Groups many writes in one transaction (thousands of small files).</summary>
    public SqliteTransaction BeginTransaction() => connection.BeginTransaction();

    private static FileRecord Read(SqliteDataReader reader)
    {
        var chunkText = reader.GetString(5);
        var chunks = chunkText.Length == 0
            ? []
            : chunkText.Split(',').Select(c =>
            {
                var colon = c.IndexOf(':');
                return new LocalChunk(c[..colon], int.Parse(c[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            }).ToList();
        return new FileRecord(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4), chunks, Guid.Parse(reader.GetString(6)));
    }

    public void Dispose() => connection.Dispose();
}
