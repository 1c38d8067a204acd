using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Conflicts;
using HeadyClouds.Sync.Core.Paths;
using HeadyClouds.Sync.Core.Protocol;
using HeadyMe.Sync.Changes;
using HeadyMe.Sync.Quota;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace HeadyMe.Sync.Files;

/// <summary>What a commit did: per-file results, the feed position after it, or the quota it would have broken.</summary>
public sealed record CommitOutcome(IReadOnlyList<CommitFileResult> Results, long Cursor, QuotaExceeded? Quota);

public sealed record QuotaExceeded(long UsedBytes, long LimitBytes, long AdditionalBytes);

/// <summary>A tree operation that could not be done; Status is the HTTP status to answer with.</summary>
public sealed record FileOpError(int Status, string Detail, FileVersionInfo? Current = null);

/// <summary>
/// The file tree of a workspace: commits (batched, set-based SQL: one transaction and a fixed number of round trips
/// per batch, whatever its size), deletes, moves, restores, trash and the change feed. Every write locks the
/// workspace row first, so writes to one workspace are serialized and take consecutive change sequence numbers.
/// </summary>
public sealed partial class FileStore(NpgsqlDataSource db, ChangeNotifier notifier, TimeProvider time, IOptions<HeadyMeOptions> options)
{
    private const string VersionColumns = "v.id, v.file_id, v.path, v.size, v.content_hash, v.modified_at, v.mode, v.device, v.created_at, v.created_by, v.seq";

    private sealed record Entry(Guid Id, string Path, string PathKey, bool Deleted, bool Purged, long Size, FileVersionInfo? Current);

    private sealed record Pending(int Index, CommitFileRequest Request, string Path, string Key);

    private sealed record Write(int Index, Guid EntryId, string Path, string Key, Guid VersionId, CommitFileRequest Request, string[] Chunks, long OldLiveSize)
    {
        public long Seq { get; set; }
    }

    // ---------------------------------------------------------------- commit

    public async Task<CommitOutcome> CommitAsync(Guid workspaceId, Guid userId, IReadOnlyList<CommitFileRequest> files, CancellationToken ct)
    {
        var results = new CommitFileResult?[files.Count];
        var pending = new List<Pending>(files.Count);
        var batchKeys = new HashSet<string>(StringComparer.Ordinal);
        var spellings = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i];
            var check = WorkspacePath.Validate(file?.Path);
            var error = file is null ? "The file entry is null." : check.IsValid ? ValidateContent(file) : check.Error;
            if (error is null && !batchKeys.Add(check.Key))
            {
                error = $"'{check.Path}' appears more than once in this commit.";
            }

            if (error is null && FindClash(spellings, check.Path) is { } clash)
            {
                error = WorkspacePath.ClashMessage(clash);
            }

            if (error is not null)
            {
                results[i] = Rejected(file?.Path ?? "", error);
                continue;
            }

            foreach (var prefix in WorkspacePath.Folders(check.Path).Append(check.Path))
            {
                spellings.TryAdd(WorkspacePath.Key(prefix), prefix);
            }

            pending.Add(new Pending(i, file!, check.Path, check.Key));
        }

        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var (ownerId, changeSeq) = await LockWorkspaceAsync(connection, workspaceId, ct);

        var folderKeys = pending.SelectMany(p => WorkspacePath.Folders(p.Path)).Select(WorkspacePath.Key).ToHashSet(StringComparer.Ordinal);
        var entries = await LoadEntriesAsync(connection, workspaceId, pending.Select(p => p.Key).Concat(folderKeys), ct);
        var folders = await LoadFoldersAsync(connection, workspaceId, folderKeys.Concat(pending.Select(p => p.Key)), ct);

        // Against the tree: spelling clashes, a folder that is a file, a file that is a non-empty folder.
        var maybeFolders = new List<Pending>();
        foreach (var p in pending.ToArray())
        {
            string? error = null;
            if (entries.TryGetValue(p.Key, out var existing) && existing is { Deleted: false } && existing.Path != p.Path)
            {
                error = WorkspacePath.ClashMessage(new NormalizationClash(existing.Path, p.Path));
            }

            foreach (var folder in WorkspacePath.Folders(p.Path))
            {
                var key = WorkspacePath.Key(folder);
                if (error is null && folders.TryGetValue(key, out var spelled) && spelled != folder)
                {
                    error = WorkspacePath.ClashMessage(new NormalizationClash(spelled, folder));
                }

                if (error is null && entries.TryGetValue(key, out var file) && !file.Deleted)
                {
                    error = $"'{folder}' is a file, so '{p.Path}' cannot be created under it.";
                }
            }

            if (error is not null)
            {
                results[p.Index] = Rejected(p.Path, error);
                pending.Remove(p);
            }
            else if (folders.ContainsKey(p.Key))
            {
                maybeFolders.Add(p);
            }
        }

        foreach (var key in await NonEmptyFoldersAsync(connection, workspaceId, maybeFolders.Select(p => p.Key).ToArray(), ct))
        {
            var p = maybeFolders.First(m => m.Key == key);
            results[p.Index] = Rejected(p.Path, $"'{p.Path}' is a folder with files in it.");
            pending.Remove(p);
        }

        // Chunks: every one must be in the workspace; naming them protects them from GC (last_referenced_at).
        var chunkSizes = await TouchChunksAsync(connection, workspaceId, pending.SelectMany(p => p.Request.Chunks).Distinct(StringComparer.Ordinal).ToArray(), now, ct);
        foreach (var p in pending.ToArray())
        {
            var missing = p.Request.Chunks.Where(c => !chunkSizes.ContainsKey(c)).Distinct(StringComparer.Ordinal).ToArray();
            string? error = null;
            if (missing.Length > 0)
            {
                error = $"{missing.Length} chunk(s) of '{p.Path}' have not been uploaded to this workspace.";
            }
            else
            {
                var total = p.Request.Chunks.Sum(c => (long)chunkSizes[c]);
                if (total != p.Request.Size)
                {
                    error = $"The chunks of '{p.Path}' add up to {total} bytes, but the size given is {p.Request.Size}.";
                }
            }

            if (error is not null)
            {
                results[p.Index] = Rejected(p.Path, error, missing.Length > 0 ? missing : null);
                pending.Remove(p);
            }
        }

        // Outcomes.
        var writes = new List<Write>();
        var conflicts = new List<(Pending P, Entry Current)>();
        foreach (var p in pending)
        {
            entries.TryGetValue(p.Key, out var entry);
            var request = p.Request;
            if (entry is null || entry.Deleted || entry.Current is null)
            {
                // New, revived after deletion, or edit-versus-delete: the edit is kept.
                writes.Add(new Write(p.Index, entry?.Id ?? Guid.CreateVersion7(), p.Path, p.Key, Guid.CreateVersion7(), request, [.. request.Chunks], 0));
            }
            else if (SameContent(entry.Current, request) && (request.BaseVersionId != entry.Current.Id || entry.Current.Mode == request.Mode))
            {
                results[p.Index] = new CommitFileResult(p.Path, CommitOutcomes.Unchanged, entry.Current, null, null, null, null);
            }
            else if (request.BaseVersionId == entry.Current.Id)
            {
                writes.Add(new Write(p.Index, entry.Id, entry.Path, p.Key, Guid.CreateVersion7(), request, [.. request.Chunks], entry.Size));
            }
            else
            {
                conflicts.Add((p, entry));
            }
        }

        var taken = writes.Select(w => w.Key).ToHashSet(StringComparer.Ordinal);
        var conflictPaths = await ChooseConflictPathsAsync(connection, workspaceId, conflicts.Select(c => (c.P.Path, c.P.Request.Device)).ToArray(), taken, now, ct);
        for (var i = 0; i < conflicts.Count; i++)
        {
            var (p, current) = conflicts[i];
            var copyPath = conflictPaths[i];
            var write = new Write(p.Index, Guid.CreateVersion7(), copyPath, WorkspacePath.Key(copyPath), Guid.CreateVersion7(), p.Request, [.. p.Request.Chunks], 0);
            writes.Add(write);
            results[p.Index] = new CommitFileResult(p.Path, CommitOutcomes.Conflict, null, current.Current, copyPath, null, null);
        }

        if (writes.Count == 0)
        {
            await tx.CommitAsync(ct);
            return new CommitOutcome(Finish(results), changeSeq, null);
        }

        var delta = writes.Sum(w => w.Request.Size - w.OldLiveSize);
        if (delta > 0)
        {
            if ((await QuotaService.OwnerStateAsync(connection, ownerId, options.Value.QuotaBytes, ct)).Adding(delta) is { } exceeded)
            {
                await tx.RollbackAsync(ct);
                return new CommitOutcome([], changeSeq, exceeded);
            }
        }

        // Sequence numbers in request order (conflict copies at their request's place).
        writes.Sort((a, b) => a.Index.CompareTo(b.Index));
        var last = await AdvanceAsync(connection, workspaceId, writes.Count, delta, ct);
        for (var i = 0; i < writes.Count; i++)
        {
            writes[i].Seq = last - writes.Count + 1 + i;
        }

        await UpsertEntriesAsync(connection, workspaceId, writes, ct);
        await InsertVersionsAsync(connection, workspaceId, userId, writes, now, ct);
        await InsertFoldersAsync(connection, workspaceId, writes.Select(w => w.Path), ct);
        await tx.CommitAsync(ct);
        notifier.Publish(workspaceId);

        foreach (var w in writes)
        {
            var info = Info(w, userId, now);
            var index = w.Index;
            results[index] = results[index] is { Outcome: CommitOutcomes.Conflict } conflict
                ? conflict with { Version = info }
                : new CommitFileResult(w.Path, CommitOutcomes.Committed, info, null, null, null, null);
        }

        return new CommitOutcome(Finish(results), last, null);
    }

    private static string? ValidateContent(CommitFileRequest file)
    {
        if (file.Chunks is null)
        {
            return "chunks is required (an empty list for an empty file).";
        }

        if (file.Chunks.Count > SyncApi.MaxChunksPerFile)
        {
            return $"A file may have at most {SyncApi.MaxChunksPerFile} chunks; '{file.Path}' has {file.Chunks.Count}.";
        }

        foreach (var chunk in file.Chunks)
        {
            if (!ChunkId.IsValid(chunk))
            {
                return $"'{Shorten(chunk)}' is not a chunk id: expected 64 lowercase hex characters (SHA-256).";
            }
        }

        if (file.Size < 0 || (file.Size == 0) != (file.Chunks.Count == 0))
        {
            return $"size {file.Size} does not fit {file.Chunks.Count} chunk(s) (an empty file has no chunks).";
        }

        if (!ChunkId.IsValid(file.ContentHash))
        {
            return "contentHash must be the file's SHA-256 as 64 lowercase hex characters.";
        }

        if (string.IsNullOrWhiteSpace(file.Device) || file.Device.Length > SyncApi.MaxDeviceLength || file.Device.Any(char.IsControl))
        {
            return $"device is required: 1-{SyncApi.MaxDeviceLength} characters without control characters.";
        }

        if (file.Mode is < 0 or > 0xFFFF)
        {
            return $"mode {file.Mode} is not a Unix mode.";
        }

        return null;
    }

    private static NormalizationClash? FindClash(Dictionary<string, string> spellings, string path)
    {
        foreach (var prefix in WorkspacePath.Folders(path).Append(path))
        {
            if (spellings.TryGetValue(WorkspacePath.Key(prefix), out var other) && other != prefix)
            {
                return new NormalizationClash(other, prefix);
            }
        }

        return null;
    }

    private static bool SameContent(FileVersionInfo current, CommitFileRequest request) =>
        current.Size == request.Size && current.ContentHash == request.ContentHash;

    private static CommitFileResult Rejected(string path, string error, IReadOnlyList<string>? missing = null) =>
        new(path, CommitOutcomes.Rejected, null, null, null, error, missing);

    private static CommitFileResult[] Finish(CommitFileResult?[] results) => results.Select(r => r!).ToArray();

    private static FileVersionInfo Info(Write w, Guid userId, DateTimeOffset now) =>
        new(w.VersionId, w.EntryId, w.Path, w.Request.Size, w.Request.ContentHash, w.Request.ModifiedAt.ToUniversalTime(), w.Request.Mode, w.Request.Device, now, userId, w.Seq);

    private async Task<string[]> ChooseConflictPathsAsync(NpgsqlConnection connection, Guid workspaceId, (string Path, string Device)[] conflicts, HashSet<string> taken, DateTimeOffset now, CancellationToken ct)
    {
        var chosen = new string[conflicts.Length];
        var attempts = new int[conflicts.Length];
        Array.Fill(attempts, 1);
        var open = Enumerable.Range(0, conflicts.Length).ToList();
        while (open.Count > 0)
        {
            foreach (var i in open)
            {
                chosen[i] = ConflictCopy.PathFor(conflicts[i].Path, now, conflicts[i].Device, attempts[i]);
            }

            var existing = await LoadEntriesAsync(connection, workspaceId, open.Select(i => WorkspacePath.Key(chosen[i])), ct);
            var next = new List<int>();
            foreach (var i in open)
            {
                var key = WorkspacePath.Key(chosen[i]);
                if ((existing.TryGetValue(key, out var e) && !e.Purged) || !taken.Add(key))
                {
                    attempts[i]++;
                    next.Add(i);
                }
            }

            open = next;
        }

        return chosen;
    }

    // ---------------------------------------------------------------- SQL pieces

    private static async Task<(Guid OwnerId, long ChangeSeq)> LockWorkspaceAsync(NpgsqlConnection connection, Guid workspaceId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT owner_id, change_seq FROM workspaces WHERE id = @w FOR UPDATE", connection);
        command.Parameters.AddWithValue("w", workspaceId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            throw new InvalidOperationException($"Workspace {workspaceId} does not exist.");
        }

        return (reader.GetGuid(0), reader.GetInt64(1));
    }

    private static async Task<long> AdvanceAsync(NpgsqlConnection connection, Guid workspaceId, int count, long deltaBytes, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE workspaces SET change_seq = change_seq + @n, used_bytes = used_bytes + @d WHERE id = @w RETURNING change_seq", connection);
        command.Parameters.AddWithValue("n", (long)count);
        command.Parameters.AddWithValue("d", deltaBytes);
        command.Parameters.AddWithValue("w", workspaceId);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task<Dictionary<string, Entry>> LoadEntriesAsync(NpgsqlConnection connection, Guid workspaceId, IEnumerable<string> keys, CancellationToken ct)
    {
        var result = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var array = keys.Distinct(StringComparer.Ordinal).ToArray();
        if (array.Length == 0)
        {
            return result;
        }

        await using var command = new NpgsqlCommand(
            $"""
            SELECT e.id, e.path, e.path_key, e.deleted, e.purged, e.size, {VersionColumns}
            FROM file_entries e LEFT JOIN file_versions v ON v.id = e.current_version_id
            WHERE e.workspace_id = @w AND e.path_key = ANY(@keys)
            """, connection);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("keys", array);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var entry = new Entry(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4), reader.GetInt64(5),
                reader.IsDBNull(6) ? null : ReadVersion(reader, 6));
            result[entry.PathKey] = entry;
        }

        return result;
    }

    private static async Task<Dictionary<string, string>> LoadFoldersAsync(NpgsqlConnection connection, Guid workspaceId, IEnumerable<string> keys, CancellationToken ct)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var array = keys.Distinct(StringComparer.Ordinal).ToArray();
        if (array.Length == 0)
        {
            return result;
        }

        await using var command = new NpgsqlCommand("SELECT key, path FROM folders WHERE workspace_id = @w AND key = ANY(@keys)", connection);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("keys", array);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetString(0)] = reader.GetString(1);
        }

        return result;
    }

    private static async Task<List<string>> NonEmptyFoldersAsync(NpgsqlConnection connection, Guid workspaceId, string[] keys, CancellationToken ct)
    {
        var result = new List<string>();
        if (keys.Length == 0)
        {
            return result;
        }

        await using var command = new NpgsqlCommand(
            """
            SELECT k FROM unnest(@keys) AS k
            WHERE EXISTS (SELECT 1 FROM file_entries e WHERE e.workspace_id = @w AND NOT e.deleted AND starts_with(e.path_key, k || '/'))
            """, connection);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("keys", keys);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(reader.GetString(0));
        }

        return result;
    }

    private static async Task<Dictionary<string, int>> TouchChunksAsync(NpgsqlConnection connection, Guid workspaceId, string[] ids, DateTimeOffset now, CancellationToken ct)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (ids.Length == 0)
        {
            return result;
        }

        // Row locks taken here also make a concurrent GC wait, then find the chunk referenced.
        await using var command = new NpgsqlCommand(
            "UPDATE chunks SET last_referenced_at = @now WHERE workspace_id = @w AND chunk_id = ANY(@ids) RETURNING chunk_id, size", connection);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("ids", ids);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetString(0)] = reader.GetInt32(1);
        }

        return result;
    }

    private static async Task UpsertEntriesAsync(NpgsqlConnection connection, Guid workspaceId, List<Write> writes, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO file_entries (id, workspace_id, path, path_key, current_version_id, deleted, deleted_at, purged, seq, size)
            SELECT u.id, @w, u.path, u.key, u.vid, false, NULL, false, u.seq, u.size
            FROM unnest(@ids, @paths, @keys, @vids, @seqs, @sizes) AS u(id, path, key, vid, seq, size)
            ON CONFLICT (workspace_id, path_key) DO UPDATE SET
                path = excluded.path, current_version_id = excluded.current_version_id, deleted = false, deleted_at = NULL,
                purged = false, seq = excluded.seq, size = excluded.size
            """, connection);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("ids", writes.Select(w => w.EntryId).ToArray());
        command.Parameters.AddWithValue("paths", writes.Select(w => w.Path).ToArray());
        command.Parameters.AddWithValue("keys", writes.Select(w => w.Key).ToArray());
        command.Parameters.AddWithValue("vids", writes.Select(w => w.VersionId).ToArray());
        command.Parameters.AddWithValue("seqs", writes.Select(w => w.Seq).ToArray());
        command.Parameters.AddWithValue("sizes", writes.Select(w => w.Request.Size).ToArray());
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task InsertVersionsAsync(NpgsqlConnection connection, Guid workspaceId, Guid userId, List<Write> writes, DateTimeOffset now, CancellationToken ct)
    {
        await using var import = await connection.BeginBinaryImportAsync(
            "COPY file_versions (id, workspace_id, file_id, path, size, content_hash, chunk_ids, modified_at, mode, device, created_at, created_by, seq) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var w in writes)
        {
            await import.StartRowAsync(ct);
            await import.WriteAsync(w.VersionId, NpgsqlDbType.Uuid, ct);
            await import.WriteAsync(workspaceId, NpgsqlDbType.Uuid, ct);
            await import.WriteAsync(w.EntryId, NpgsqlDbType.Uuid, ct);
            await import.WriteAsync(w.Path, NpgsqlDbType.Text, ct);
            await import.WriteAsync(w.Request.Size, NpgsqlDbType.Bigint, ct);
            await import.WriteAsync(w.Request.ContentHash, NpgsqlDbType.Varchar, ct);
            await import.WriteAsync(w.Chunks, NpgsqlDbType.Array | NpgsqlDbType.Text, ct);
            await import.WriteAsync(w.Request.ModifiedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
            await import.WriteAsync(w.Request.Mode, NpgsqlDbType.Integer, ct);
            await import.WriteAsync(w.Request.Device, NpgsqlDbType.Varchar, ct);
            await import.WriteAsync(now, NpgsqlDbType.TimestampTz, ct);
            await import.WriteAsync(userId, NpgsqlDbType.Uuid, ct);
            await import.WriteAsync(w.Seq, NpgsqlDbType.Bigint, ct);
        }

        await import.CompleteAsync(ct);
    }

    private static async Task InsertFoldersAsync(NpgsqlConnection connection, Guid workspaceId, IEnumerable<string> paths, CancellationToken ct)
    {
        var folders = paths.SelectMany(WorkspacePath.Folders).Distinct(StringComparer.Ordinal).ToArray();
        if (folders.Length == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand(
            "INSERT INTO folders (workspace_id, key, path) SELECT @w, u.k, u.p FROM unnest(@keys, @paths) AS u(k, p) ON CONFLICT DO NOTHING", connection);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("keys", folders.Select(WorkspacePath.Key).ToArray());
        command.Parameters.AddWithValue("paths", folders);
        await command.ExecuteNonQueryAsync(ct);
    }

    internal static FileVersionInfo ReadVersion(NpgsqlDataReader reader, int o) =>
        new(reader.GetGuid(o), reader.GetGuid(o + 1), reader.GetString(o + 2), reader.GetInt64(o + 3), reader.GetString(o + 4),
            reader.GetFieldValue<DateTimeOffset>(o + 5), reader.GetInt32(o + 6), reader.GetString(o + 7), reader.GetFieldValue<DateTimeOffset>(o + 8),
            reader.GetGuid(o + 9), reader.GetInt64(o + 10));

    private static string Shorten(string? s) => s is { Length: > 80 } ? s[..80] + "…" : s ?? "";
}
