using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Protocol;
using HeadyMe.Sync.Crypto;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace HeadyMe.Sync.Storage;

/// <summary>
/// Encrypted, per-workspace deduplicated chunks. A chunk's row is written (and locked) before its object is stored,
/// in one transaction, so garbage collection (which locks the rows it deletes) never removes an object an upload is
/// writing; every upload, presence answer and commit touches <c>last_referenced_at</c>, which GC's grace period honours.
/// </summary>
public sealed class ChunkStore(NpgsqlDataSource db, IObjectStore store, KeyService keys, TimeProvider time, IOptions<HeadyMeOptions> options)
{
    /// <summary>Chunks buffered per database round trip while reading a pack.</summary>
    private const int BatchChunks = 64;
    private const int BatchBytes = 16 * 1024 * 1024;

    /// <summary>The ids (deduplicated, in request order) this workspace does not have; the ones it has are protected from GC for the grace period.</summary>
    public async Task<IReadOnlyList<string>> MissingAsync(Guid workspaceId, IReadOnlyList<string> chunkIds, CancellationToken ct)
    {
        var distinct = chunkIds.Distinct(StringComparer.Ordinal).ToArray();
        var present = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = db.CreateCommand(
            "UPDATE chunks SET last_referenced_at = @now WHERE workspace_id = @w AND chunk_id = ANY(@ids) RETURNING chunk_id"))
        {
            command.Parameters.AddWithValue("now", time.GetUtcNow());
            command.Parameters.AddWithValue("w", workspaceId);
            command.Parameters.AddWithValue("ids", distinct);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                present.Add(reader.GetString(0));
            }
        }

        return distinct.Where(id => !present.Contains(id)).ToArray();
    }

    /// <summary>Reads, verifies and stores a chunk pack.</summary>
    /// <exception cref="ChunkPackFormatException">A malformed record or a hash mismatch (records before it are stored).</exception>
    public async Task<ChunkUploadResponse> UploadAsync(Guid workspaceId, Stream body, CancellationToken ct)
    {
        var (keyVersion, dataKey) = await keys.GetActiveDataKeyAsync(workspaceId, ct);
        var stored = new List<string>();
        var present = new List<string>();
        var batch = new List<(string Id, byte[] Data)>();
        var batchBytes = 0L;
        using var reader = new ChunkPackReader(body, new ChunkPackLimits { MaxRecords = 100_000 });
        while (await reader.ReadAsync(ct) is { } record)
        {
            if (reader.BytesRead > SyncApi.MaxChunkPackBytes)
            {
                throw new ChunkPackTooLargeException();
            }

            batch.Add((record.Id.Value, record.Data.ToArray()));
            batchBytes += record.Data.Length;
            if (batch.Count >= BatchChunks || batchBytes >= BatchBytes)
            {
                await StoreBatchAsync(workspaceId, keyVersion, dataKey, batch, stored, present, ct);
                batch.Clear();
                batchBytes = 0;
            }
        }

        if (batch.Count > 0)
        {
            await StoreBatchAsync(workspaceId, keyVersion, dataKey, batch, stored, present, ct);
        }

        return new ChunkUploadResponse(stored, present);
    }

    private async Task StoreBatchAsync(Guid workspaceId, int keyVersion, byte[] dataKey, List<(string Id, byte[] Data)> batch,
        List<string> stored, List<string> present, CancellationToken ct)
    {
        // The same chunk twice in one pack is stored once.
        // Sorted: concurrent uploads then lock overlapping chunk rows in the same order and cannot deadlock.
        var unique = batch.DistinctBy(c => c.Id, StringComparer.Ordinal).OrderBy(c => c.Id, StringComparer.Ordinal).ToArray();
        var objectKeys = unique.Select(c => ChunkCipher.ObjectKey(dataKey, workspaceId, c.Id)).ToArray();
        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand(
            """
            INSERT INTO chunks (workspace_id, chunk_id, size, stored_size, object_key, key_version, created_at, last_referenced_at)
            SELECT @w, u.id, u.size, u.size + @header, u.object_key, @kv, @now, @now
            FROM unnest(@ids, @sizes, @keys) AS u(id, size, object_key)
            ON CONFLICT (workspace_id, chunk_id) DO UPDATE SET last_referenced_at = excluded.last_referenced_at
            RETURNING chunk_id, (xmax = 0) AS inserted
            """, connection, tx))
        {
            command.Parameters.AddWithValue("w", workspaceId);
            command.Parameters.AddWithValue("header", ChunkCipher.HeaderSize);
            command.Parameters.AddWithValue("kv", keyVersion);
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("ids", unique.Select(c => c.Id).ToArray());
            command.Parameters.AddWithValue("sizes", unique.Select(c => c.Data.Length).ToArray());
            command.Parameters.AddWithValue("keys", objectKeys);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (reader.GetBoolean(1))
                {
                    inserted.Add(reader.GetString(0));
                }
            }
        }

        var toStore = unique.Select((c, i) => (c.Id, c.Data, ObjectKey: objectKeys[i])).Where(c => inserted.Contains(c.Id)).ToArray();
        await Parallel.ForEachAsync(toStore, new ParallelOptions { MaxDegreeOfParallelism = options.Value.UploadParallelism, CancellationToken = ct },
            async (chunk, token) =>
            {
                var blob = ChunkCipher.Encrypt(dataKey, keyVersion, workspaceId, chunk.Id, chunk.Data);
                using var stream = new MemoryStream(blob, writable: false);
                await store.PutAsync(HeadyMeServices.ChunkBucket, chunk.ObjectKey, stream, blob.Length, token);
            });
        await tx.CommitAsync(ct);
        // Answered in pack order.
        foreach (var chunk in batch.DistinctBy(c => c.Id, StringComparer.Ordinal))
        {
            (inserted.Contains(chunk.Id) ? stored : present).Add(chunk.Id);
        }
    }

    /// <summary>The chunk's plaintext, or null when the workspace has no such chunk.</summary>
    /// <exception cref="ChunkIntegrityException">The stored object was tampered with, lost or misplaced.</exception>
    public async Task<byte[]?> ReadAsync(Guid workspaceId, string chunkId, CancellationToken ct)
    {
        string objectKey;
        await using (var command = db.CreateCommand("SELECT object_key FROM chunks WHERE workspace_id = @w AND chunk_id = @id"))
        {
            command.Parameters.AddWithValue("w", workspaceId);
            command.Parameters.AddWithValue("id", chunkId);
            if (await command.ExecuteScalarAsync(ct) is not string key)
            {
                return null;
            }

            objectKey = key;
        }

        return await ReadObjectAsync(workspaceId, chunkId, objectKey, ct);
    }

    public async Task<byte[]> ReadObjectAsync(Guid workspaceId, string chunkId, string objectKey, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        if (!await store.TryGetAsync(HeadyMeServices.ChunkBucket, objectKey, buffer, ct))
        {
            throw new ChunkIntegrityException($"Chunk {chunkId} is missing from the object store.");
        }

        var blob = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        var dataKey = await keys.GetDataKeyAsync(workspaceId, ChunkCipher.KeyVersionOf(blob.Span), ct);
        return ChunkCipher.Decrypt(dataKey, workspaceId, chunkId, blob.Span);
    }

    /// <summary>Sizes and object names of the given chunks of a workspace (for range reads).</summary>
    public async Task<Dictionary<string, (int Size, string ObjectKey)>> DescribeAsync(Guid workspaceId, IReadOnlyCollection<string> chunkIds, CancellationToken ct)
    {
        var result = new Dictionary<string, (int, string)>(StringComparer.Ordinal);
        await using var command = db.CreateCommand("SELECT chunk_id, size, object_key FROM chunks WHERE workspace_id = @w AND chunk_id = ANY(@ids)");
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = chunkIds.Distinct().ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetString(0)] = (reader.GetInt32(1), reader.GetString(2));
        }

        return result;
    }
}

public sealed class ChunkPackTooLargeException() : Exception($"The chunk pack is larger than {SyncApi.MaxChunkPackBytes} bytes.");
