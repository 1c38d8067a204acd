using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.Sync.Core.Protocol;
using HeadyMe.Sync.Changes;
using HeadyMe.Sync.Files;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HeadyMe.Sync.Maintenance;

/// <summary>
/// Retention (old versions and expired trash) and garbage collection of chunks. GC deletes a chunk only when no
/// version references it AND it was not touched (uploaded, reported present, committed) within the grace period; the
/// rows are locked while their objects are deleted, so an upload or commit of the same chunk waits and then sees it
/// gone (the upload stores it again, the commit reports it missing) — an upload in flight is never collected.
/// </summary>
public sealed class MaintenanceService(NpgsqlDataSource db, IObjectStore store, ChangeNotifier notifier, TimeProvider time, IOptions<HeadyMeOptions> options, ILogger<MaintenanceService> logger)
{
    // One hash anti-join of every reference per batch: large batches keep that rare.
    private const int GcBatch = 5000;

    public async Task<MaintenanceResponse> RunAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var pruned = await PruneVersionsAsync(now, ct);
        var purged = await ExpireTrashAsync(now, ct);
        var (deleted, bytes) = await CollectAsync(now - options.Value.ChunkGracePeriod, ct);
        var inGrace = await CountInGraceAsync(ct);
        logger.LogInformation("Maintenance: {Pruned} versions pruned, {Purged} trashed files purged, {Chunks} chunks ({Bytes} bytes) collected, {Grace} in grace period",
            pruned, purged, deleted, bytes, inGrace);
        return new MaintenanceResponse(pruned, purged, deleted, bytes, inGrace);
    }

    private async Task<int> PruneVersionsAsync(DateTimeOffset now, CancellationToken ct)
    {
        // Never the current version; with both limits set a version goes only when both allow it.
        await using var command = db.CreateCommand(
            """
            WITH ranked AS (
                SELECT v.id, v.created_at, e.current_version_id, w.keep_versions, w.keep_days,
                       row_number() OVER (PARTITION BY v.file_id ORDER BY v.seq DESC) AS rn
                FROM file_versions v
                JOIN file_entries e ON e.id = v.file_id
                JOIN workspaces w ON w.id = v.workspace_id
                WHERE w.keep_versions IS NOT NULL OR w.keep_days IS NOT NULL)
            DELETE FROM file_versions WHERE id IN (
                SELECT id FROM ranked
                WHERE id <> current_version_id
                  AND (keep_versions IS NULL OR rn > keep_versions)
                  AND (keep_days IS NULL OR created_at < @now - make_interval(days => keep_days)))
            """);
        command.Parameters.AddWithValue("now", now);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private async Task<int> ExpireTrashAsync(DateTimeOffset now, CancellationToken ct)
    {
        var candidates = new List<(Guid Workspace, Guid Entry)>();
        await using (var command = db.CreateCommand(
            """
            SELECT e.workspace_id, e.id FROM file_entries e JOIN workspaces w ON w.id = e.workspace_id
            WHERE e.deleted AND NOT e.purged AND w.keep_days IS NOT NULL AND e.deleted_at < @now - make_interval(days => w.keep_days)
            """))
        {
            command.Parameters.AddWithValue("now", now);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                candidates.Add((reader.GetGuid(0), reader.GetGuid(1)));
            }
        }

        foreach (var group in candidates.GroupBy(c => c.Workspace))
        {
            await using var connection = await db.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var ids = group.Select(g => g.Entry).ToArray();
            await using var advance = new NpgsqlCommand("UPDATE workspaces SET change_seq = change_seq + @n WHERE id = @w RETURNING change_seq", connection);
            advance.Parameters.AddWithValue("n", (long)ids.Length);
            advance.Parameters.AddWithValue("w", group.Key);
            var last = (long)(await advance.ExecuteScalarAsync(ct))!;
            await FileStore.PurgeEntriesAsync(connection, ids, ids.Select((_, i) => last - ids.Length + 1 + i).ToArray(), ct);
            await tx.CommitAsync(ct);
            notifier.Publish(group.Key);
        }

        return candidates.Count;
    }

    private async Task<(int Deleted, long Bytes)> CollectAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        var deleted = 0;
        var bytes = 0L;
        while (true)
        {
            await using var connection = await db.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var batch = new List<(Guid Workspace, string Chunk, string ObjectKey, int Size)>();
            await using (var select = new NpgsqlCommand(
                """
                WITH referenced AS MATERIALIZED (
                    SELECT DISTINCT v.workspace_id, unnest(v.chunk_ids) AS chunk_id FROM file_versions v
                    WHERE v.workspace_id IN (SELECT DISTINCT workspace_id FROM chunks WHERE last_referenced_at < @cutoff))
                SELECT c.workspace_id, c.chunk_id, c.object_key, c.stored_size
                FROM chunks c LEFT JOIN referenced r ON r.workspace_id = c.workspace_id AND r.chunk_id = c.chunk_id
                WHERE c.last_referenced_at < @cutoff AND r.chunk_id IS NULL
                LIMIT @limit
                FOR UPDATE OF c SKIP LOCKED
                """, connection))
            {
                select.Parameters.AddWithValue("cutoff", cutoff);
                select.Parameters.AddWithValue("limit", GcBatch);
                await using var reader = await select.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    batch.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3)));
                }
            }

            if (batch.Count == 0)
            {
                await tx.CommitAsync(ct);
                return (deleted, bytes);
            }

            // Objects first, rows last, all under the row locks.
            await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
                async (chunk, token) => await store.DeleteAsync(HeadyMeServices.ChunkBucket, chunk.ObjectKey, token));
            await using (var delete = new NpgsqlCommand(
                "DELETE FROM chunks c USING unnest(@w, @ids) AS u(w, id) WHERE c.workspace_id = u.w AND c.chunk_id = u.id", connection))
            {
                delete.Parameters.AddWithValue("w", batch.Select(b => b.Workspace).ToArray());
                delete.Parameters.AddWithValue("ids", batch.Select(b => b.Chunk).ToArray());
                await delete.ExecuteNonQueryAsync(ct);
            }

            await tx.CommitAsync(ct);
            deleted += batch.Count;
            bytes += batch.Sum(b => (long)b.Size);
            if (batch.Count < GcBatch)
            {
                return (deleted, bytes);
            }
        }
    }

    private async Task<int> CountInGraceAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            WITH referenced AS MATERIALIZED (SELECT DISTINCT v.workspace_id, unnest(v.chunk_ids) AS chunk_id FROM file_versions v)
            SELECT count(*)::int FROM chunks c LEFT JOIN referenced r ON r.workspace_id = c.workspace_id AND r.chunk_id = c.chunk_id
            WHERE r.chunk_id IS NULL
            """);
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }
}
