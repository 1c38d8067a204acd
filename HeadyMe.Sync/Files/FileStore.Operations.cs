using System.Data;
using HeadyClouds.Sync.Core.Paths;
using HeadyClouds.Sync.Core.Protocol;
using HeadyMe.Sync.Quota;
using Npgsql;

namespace HeadyMe.Sync.Files;

public sealed partial class FileStore
{
    // ---------------------------------------------------------------- delete, move, restore, trash

    public async Task<FileOpError?> DeleteAsync(Guid workspaceId, string path, Guid baseVersionId, CancellationToken ct)
    {
        var key = WorkspacePath.Key(path);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await LockWorkspaceAsync(connection, workspaceId, ct);
        var entry = (await LoadEntriesAsync(connection, workspaceId, [key], ct)).GetValueOrDefault(key);
        if (entry is null || entry.Deleted || entry.Current is null)
        {
            return new FileOpError(404, $"There is no file at '{path}'.");
        }

        if (entry.Current.Id != baseVersionId)
        {
            return new FileOpError(409, $"'{entry.Path}' changed since version {baseVersionId}: its current version is {entry.Current.Id}. Nothing was deleted.", entry.Current);
        }

        var seq = await AdvanceAsync(connection, workspaceId, 1, -entry.Size, ct);
        await MarkDeletedAsync(connection, entry.Id, seq, ct);
        await tx.CommitAsync(ct);
        notifier.Publish(workspaceId);
        return null;
    }

    private async Task MarkDeletedAsync(NpgsqlConnection connection, Guid entryId, long seq, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("UPDATE file_entries SET deleted = true, deleted_at = @now, seq = @seq WHERE id = @id", connection);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("seq", seq);
        command.Parameters.AddWithValue("id", entryId);
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<(FileVersionInfo? Version, FileOpError? Error)> MoveAsync(Guid workspaceId, Guid userId, string from, string to, Guid baseVersionId, CancellationToken ct)
    {
        var fromKey = WorkspacePath.Key(from);
        var toKey = WorkspacePath.Key(to);
        if (fromKey == toKey)
        {
            return (null, new FileOpError(400, "from and to name the same path."));
        }

        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await LockWorkspaceAsync(connection, workspaceId, ct);
        var folderKeys = WorkspacePath.Folders(to).Select(WorkspacePath.Key).ToArray();
        var entries = await LoadEntriesAsync(connection, workspaceId, folderKeys.Append(fromKey).Append(toKey), ct);
        var source = entries.GetValueOrDefault(fromKey);
        if (source is null || source.Deleted || source.Current is null)
        {
            return (null, new FileOpError(404, $"There is no file at '{from}'."));
        }

        if (source.Current.Id != baseVersionId)
        {
            return (null, new FileOpError(409, $"'{source.Path}' changed since version {baseVersionId}: its current version is {source.Current.Id}. Nothing was moved.", source.Current));
        }

        if (entries.GetValueOrDefault(toKey) is { Deleted: false } target)
        {
            return (null, new FileOpError(409, $"'{target.Path}' already exists. Nothing was moved.", target.Current));
        }

        if (await CheckTargetAsync(connection, workspaceId, to, toKey, entries, ct) is { } targetError)
        {
            return (null, new FileOpError(400, targetError));
        }

        // The file keeps its identity, so its version history moves with it; nothing goes to the trash (nothing was
        // deleted). A tombstone at the old path tells the change feed, and so every device, that it is gone from there.
        var seq = await AdvanceAsync(connection, workspaceId, 2, 0, ct);
        if (entries.GetValueOrDefault(toKey) is { } previous)
        {
            // A deleted (or purged) file at the target: its versions join the moved file's history, as an upload to that
            // path would continue them, and its row gives way (one entry per path).
            await AdoptHistoryAsync(connection, previous.Id, source.Id, ct);
        }

        await RelocateAsync(connection, source.Id, to, toKey, ct);
        await InsertTombstoneAsync(connection, workspaceId, source.Path, fromKey, seq - 1, ct);
        // A version for the move itself (same content, new path): the history says when and by whom it moved.
        var version = await CopyVersionAsync(connection, workspaceId, userId, source.Current.Id, source.Id, to, toKey, seq, ct);
        await InsertFoldersAsync(connection, workspaceId, [to], ct);
        await tx.CommitAsync(ct);
        notifier.Publish(workspaceId);
        return (version, null);
    }

    private static async Task AdoptHistoryAsync(NpgsqlConnection connection, Guid fromEntryId, Guid toEntryId, CancellationToken ct)
    {
        await using var versions = new NpgsqlCommand("UPDATE file_versions SET file_id = @to WHERE file_id = @from", connection);
        versions.Parameters.AddWithValue("from", fromEntryId);
        versions.Parameters.AddWithValue("to", toEntryId);
        await versions.ExecuteNonQueryAsync(ct);
        await using var entry = new NpgsqlCommand("DELETE FROM file_entries WHERE id = @from", connection);
        entry.Parameters.AddWithValue("from", fromEntryId);
        await entry.ExecuteNonQueryAsync(ct);
    }

    private static async Task RelocateAsync(NpgsqlConnection connection, Guid entryId, string path, string key, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("UPDATE file_entries SET path = @path, path_key = @key WHERE id = @id", connection);
        command.Parameters.AddWithValue("path", path);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("id", entryId);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// A path a file left: deleted and purged, without versions (the state a purged trash entry is in, which every read
    /// and write already handles: not in the trash, no history, revived by the next upload to that path).
    /// </summary>
    private async Task InsertTombstoneAsync(NpgsqlConnection connection, Guid workspaceId, string path, string key, long seq, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO file_entries (id, workspace_id, path, path_key, current_version_id, deleted, deleted_at, purged, seq, size)
            VALUES (@id, @w, @path, @key, @none, true, @now, true, @seq, 0)
            """, connection);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("path", path);
        command.Parameters.AddWithValue("key", key);
        // No version has this id, so joins on the current version find none, as for a purged entry.
        command.Parameters.AddWithValue("none", Guid.Empty);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("seq", seq);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Spelling clashes of the target path's folders and name, and folders that are files.</summary>
    private static async Task<string?> CheckTargetAsync(NpgsqlConnection connection, Guid workspaceId, string path, string key, Dictionary<string, Entry> entries, CancellationToken ct)
    {
        var folders = await LoadFoldersAsync(connection, workspaceId, WorkspacePath.Folders(path).Select(WorkspacePath.Key).Append(key), ct);
        foreach (var folder in WorkspacePath.Folders(path))
        {
            var folderKey = WorkspacePath.Key(folder);
            if (folders.TryGetValue(folderKey, out var spelled) && spelled != folder)
            {
                return WorkspacePath.ClashMessage(new NormalizationClash(spelled, folder));
            }

            if (entries.TryGetValue(folderKey, out var file) && !file.Deleted)
            {
                return $"'{folder}' is a file, so '{path}' cannot be created under it.";
            }
        }

        if (folders.ContainsKey(key) && (await NonEmptyFoldersAsync(connection, workspaceId, [key], ct)).Count > 0)
        {
            return $"'{path}' is a folder with files in it.";
        }

        return null;
    }

    /// <summary>A new version of (possibly another) entry with the content of an existing version; the entry becomes live.</summary>
    private async Task<FileVersionInfo> CopyVersionAsync(NpgsqlConnection connection, Guid workspaceId, Guid userId, Guid sourceVersionId, Guid entryId, string path, string key, long seq, CancellationToken ct)
    {
        var versionId = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        await using (var entry = new NpgsqlCommand(
            """
            INSERT INTO file_entries (id, workspace_id, path, path_key, current_version_id, deleted, deleted_at, purged, seq, size)
            SELECT @id, @w, @path, @key, @vid, false, NULL, false, @seq, v.size FROM file_versions v WHERE v.id = @src
            ON CONFLICT (workspace_id, path_key) DO UPDATE SET
                path = excluded.path, current_version_id = excluded.current_version_id, deleted = false, deleted_at = NULL,
                purged = false, seq = excluded.seq, size = excluded.size
            RETURNING id
            """, connection))
        {
            entry.Parameters.AddWithValue("id", entryId);
            entry.Parameters.AddWithValue("w", workspaceId);
            entry.Parameters.AddWithValue("path", path);
            entry.Parameters.AddWithValue("key", key);
            entry.Parameters.AddWithValue("vid", versionId);
            entry.Parameters.AddWithValue("seq", seq);
            entry.Parameters.AddWithValue("src", sourceVersionId);
            entryId = (Guid)(await entry.ExecuteScalarAsync(ct))!;
        }

        await using var version = new NpgsqlCommand(
            $"""
            INSERT INTO file_versions (id, workspace_id, file_id, path, size, content_hash, chunk_ids, modified_at, mode, device, created_at, created_by, seq)
            SELECT @vid, @w, @file, @path, s.size, s.content_hash, s.chunk_ids, s.modified_at, s.mode, s.device, @now, @user, @seq
            FROM file_versions s WHERE s.id = @src
            RETURNING {VersionColumns.Replace("v.", "")}
            """, connection);
        version.Parameters.AddWithValue("vid", versionId);
        version.Parameters.AddWithValue("w", workspaceId);
        version.Parameters.AddWithValue("file", entryId);
        version.Parameters.AddWithValue("path", path);
        version.Parameters.AddWithValue("now", now);
        version.Parameters.AddWithValue("user", userId);
        version.Parameters.AddWithValue("seq", seq);
        version.Parameters.AddWithValue("src", sourceVersionId);
        await using var reader = await version.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return ReadVersion(reader, 0);
    }

    /// <summary>Makes an old version current again, as a new version; undeletes the file.</summary>
    public async Task<(FileVersionInfo? Version, FileOpError? Error, QuotaExceeded? Quota)> RestoreAsync(Guid workspaceId, Guid userId, string path, Guid versionId, CancellationToken ct)
    {
        var key = WorkspacePath.Key(path);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var (ownerId, _) = await LockWorkspaceAsync(connection, workspaceId, ct);
        var entry = (await LoadEntriesAsync(connection, workspaceId, [key], ct)).GetValueOrDefault(key);
        if (entry is null || entry.Purged)
        {
            return (null, new FileOpError(404, $"There is no file at '{path}'."), null);
        }

        long size;
        await using (var command = new NpgsqlCommand("SELECT size FROM file_versions WHERE id = @v AND file_id = @f", connection))
        {
            command.Parameters.AddWithValue("v", versionId);
            command.Parameters.AddWithValue("f", entry.Id);
            if (await command.ExecuteScalarAsync(ct) is not long found)
            {
                return (null, new FileOpError(404, $"'{entry.Path}' has no version {versionId}."), null);
            }

            size = found;
        }

        var delta = size - (entry.Deleted ? 0 : entry.Size);
        if (await CheckQuotaAsync(connection, ownerId, delta, ct) is { } quota)
        {
            return (null, null, quota);
        }

        var seq = await AdvanceAsync(connection, workspaceId, 1, delta, ct);
        var version = await CopyVersionAsync(connection, workspaceId, userId, versionId, entry.Id, entry.Path, key, seq, ct);
        await tx.CommitAsync(ct);
        notifier.Publish(workspaceId);
        return (version, null, null);
    }

    public async Task<(FileVersionInfo? Version, FileOpError? Error, QuotaExceeded? Quota)> UndeleteAsync(Guid workspaceId, string path, CancellationToken ct)
    {
        var key = WorkspacePath.Key(path);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var (ownerId, _) = await LockWorkspaceAsync(connection, workspaceId, ct);
        var entry = (await LoadEntriesAsync(connection, workspaceId, [key], ct)).GetValueOrDefault(key);
        if (entry is null || entry.Purged || entry.Current is null)
        {
            return (null, new FileOpError(404, $"'{path}' is not in the trash."), null);
        }

        if (!entry.Deleted)
        {
            return (null, new FileOpError(409, $"'{entry.Path}' is not deleted: it has a current version.", entry.Current), null);
        }

        if (await CheckQuotaAsync(connection, ownerId, entry.Size, ct) is { } quota)
        {
            return (null, null, quota);
        }

        var seq = await AdvanceAsync(connection, workspaceId, 1, entry.Size, ct);
        await using (var command = new NpgsqlCommand("UPDATE file_entries SET deleted = false, deleted_at = NULL, seq = @seq WHERE id = @id", connection))
        {
            command.Parameters.AddWithValue("seq", seq);
            command.Parameters.AddWithValue("id", entry.Id);
            await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        notifier.Publish(workspaceId);
        return (entry.Current, null, null);
    }

    /// <summary>Removes a deleted file's versions for good; its chunks become garbage (collected after the grace period).</summary>
    public async Task<FileOpError?> PurgeAsync(Guid workspaceId, string path, CancellationToken ct)
    {
        var key = WorkspacePath.Key(path);
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await LockWorkspaceAsync(connection, workspaceId, ct);
        var entry = (await LoadEntriesAsync(connection, workspaceId, [key], ct)).GetValueOrDefault(key);
        if (entry is null || entry.Purged || !entry.Deleted)
        {
            return new FileOpError(404, $"'{path}' is not in the trash.");
        }

        var seq = await AdvanceAsync(connection, workspaceId, 1, 0, ct);
        await PurgeEntriesAsync(connection, [entry.Id], [seq], ct);
        await tx.CommitAsync(ct);
        notifier.Publish(workspaceId);
        return null;
    }

    internal static async Task PurgeEntriesAsync(NpgsqlConnection connection, Guid[] entryIds, long[] seqs, CancellationToken ct)
    {
        await using var versions = new NpgsqlCommand("DELETE FROM file_versions WHERE file_id = ANY(@ids)", connection);
        versions.Parameters.AddWithValue("ids", entryIds);
        await versions.ExecuteNonQueryAsync(ct);
        await using var entries = new NpgsqlCommand(
            "UPDATE file_entries e SET purged = true, size = 0, seq = u.seq FROM unnest(@ids, @seqs) AS u(id, seq) WHERE e.id = u.id", connection);
        entries.Parameters.AddWithValue("ids", entryIds);
        entries.Parameters.AddWithValue("seqs", seqs);
        await entries.ExecuteNonQueryAsync(ct);
    }

    private async Task<QuotaExceeded?> CheckQuotaAsync(NpgsqlConnection connection, Guid ownerId, long delta, CancellationToken ct)
    {
        if (delta <= 0)
        {
            return null;
        }

        return (await QuotaService.OwnerStateAsync(connection, ownerId, options.Value.QuotaBytes, ct)).Adding(delta);
    }

    // ---------------------------------------------------------------- reads

    /// <summary>The file's current version (or <paramref name="versionId"/>) with its chunk list; null when unknown.</summary>
    public async Task<(FileDetails Details, string[] ChunkIds)?> GetAsync(Guid workspaceId, string path, Guid? versionId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
            SELECT e.path, e.deleted, e.deleted_at, {VersionColumns}, v.chunk_ids
            FROM file_entries e JOIN file_versions v ON v.file_id = e.id AND v.id = coalesce(@vid, e.current_version_id)
            WHERE e.workspace_id = @w AND e.path_key = @key AND NOT e.purged
            """);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("key", WorkspacePath.Key(path));
        command.Parameters.Add(new NpgsqlParameter("vid", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)versionId ?? DBNull.Value });
        string entryPath;
        bool deleted;
        DateTimeOffset? deletedAt;
        FileVersionInfo version;
        string[] chunkIds;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }

            entryPath = reader.GetString(0);
            deleted = reader.GetBoolean(1);
            deletedAt = reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2);
            version = ReadVersion(reader, 3);
            chunkIds = reader.GetFieldValue<string[]>(14);
        }

        var sizes = await ChunkSizesAsync(workspaceId, chunkIds, ct);
        var refs = new List<ChunkRef>(chunkIds.Length);
        var offset = 0L;
        foreach (var id in chunkIds)
        {
            var size = sizes.GetValueOrDefault(id, -1);
            refs.Add(new ChunkRef(id, offset, size));
            offset += Math.Max(size, 0);
        }

        return (new FileDetails(entryPath, deleted, deletedAt, version, refs), chunkIds);
    }

    private async Task<Dictionary<string, int>> ChunkSizesAsync(Guid workspaceId, string[] ids, CancellationToken ct)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var command = db.CreateCommand("SELECT chunk_id, size FROM chunks WHERE workspace_id = @w AND chunk_id = ANY(@ids)");
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("ids", ids.Distinct(StringComparer.Ordinal).ToArray());
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetString(0)] = reader.GetInt32(1);
        }

        return result;
    }

    public async Task<FileListResponse> ListAsync(Guid workspaceId, string? after, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        // One snapshot for the listing and the cursor, so a client that lists then follows the feed misses nothing.
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var cursor = await CurrentSeqAsync(connection, workspaceId, ct);
        var files = new List<FileListItem>();
        await using (var command = new NpgsqlCommand(
            $"""
            SELECT e.path, e.path_key, {VersionColumns}
            FROM file_entries e JOIN file_versions v ON v.id = e.current_version_id
            WHERE e.workspace_id = @w AND NOT e.deleted AND (@after::text IS NULL OR e.path_key COLLATE "C" > @after::text)
            ORDER BY e.path_key COLLATE "C" LIMIT @limit
            """, connection))
        {
            command.Parameters.AddWithValue("w", workspaceId);
            command.Parameters.Add(new NpgsqlParameter("after", NpgsqlTypes.NpgsqlDbType.Text) { Value = after is null ? DBNull.Value : WorkspacePath.Key(after) });
            command.Parameters.AddWithValue("limit", limit + 1);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                files.Add(new FileListItem(reader.GetString(0), ReadVersion(reader, 2)));
            }
        }

        await tx.CommitAsync(ct);
        var more = files.Count > limit;
        if (more)
        {
            files.RemoveAt(files.Count - 1);
        }

        return new FileListResponse(files, Cursor(cursor), more ? files[^1].Path : null);
    }

    public async Task<IReadOnlyList<FileVersionInfo>?> VersionsAsync(Guid workspaceId, string path, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
            SELECT {VersionColumns} FROM file_entries e JOIN file_versions v ON v.file_id = e.id
            WHERE e.workspace_id = @w AND e.path_key = @key ORDER BY v.seq DESC
            """);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("key", WorkspacePath.Key(path));
        var result = new List<FileVersionInfo>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(ReadVersion(reader, 0));
        }

        return result.Count == 0 ? null : result;
    }

    public async Task<IReadOnlyList<TrashItem>> TrashAsync(Guid workspaceId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
            SELECT e.path, e.deleted_at, {VersionColumns} FROM file_entries e JOIN file_versions v ON v.id = e.current_version_id
            WHERE e.workspace_id = @w AND e.deleted AND NOT e.purged ORDER BY e.deleted_at DESC, e.path_key
            """);
        command.Parameters.AddWithValue("w", workspaceId);
        var result = new List<TrashItem>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(new TrashItem(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), ReadVersion(reader, 2)));
        }

        return result;
    }

    // ---------------------------------------------------------------- change feed

    public static string Cursor(long seq) => seq.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParseCursor(string? cursor, out long seq)
    {
        seq = 0;
        return string.IsNullOrEmpty(cursor)
            || (long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seq) && seq >= 0);
    }

    /// <summary>The latest state of every path changed after <paramref name="after"/>, in sequence order.</summary>
    public async Task<ChangesResponse> ChangesAsync(Guid workspaceId, long after, int limit, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
            SELECT e.seq, e.path, e.deleted OR e.purged, {VersionColumns}
            FROM file_entries e LEFT JOIN file_versions v ON v.id = e.current_version_id AND NOT e.deleted AND NOT e.purged
            WHERE e.workspace_id = @w AND e.seq > @after ORDER BY e.seq LIMIT @limit
            """);
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("after", after);
        command.Parameters.AddWithValue("limit", limit + 1);
        var changes = new List<ChangeInfo>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                changes.Add(new ChangeInfo(reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2), reader.IsDBNull(3) ? null : ReadVersion(reader, 3)));
            }
        }

        var more = changes.Count > limit;
        if (more)
        {
            changes.RemoveAt(changes.Count - 1);
        }

        return new ChangesResponse(changes, Cursor(changes.Count > 0 ? changes[^1].Seq : after), more);
    }

    public async Task<long> CurrentSeqAsync(NpgsqlConnection? connection, Guid workspaceId, CancellationToken ct)
    {
        await using var command = connection is null
            ? db.CreateCommand("SELECT change_seq FROM workspaces WHERE id = @w")
            : new NpgsqlCommand("SELECT change_seq FROM workspaces WHERE id = @w", connection);
        command.Parameters.AddWithValue("w", workspaceId);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
