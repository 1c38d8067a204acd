using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Sync.Core.Protocol;
using Npgsql;

namespace HeadyMe.Sync.Crypto;

/// <summary>
/// The key hierarchy of decision 0006: root key ring (configuration) → KEK versions (table kek_versions, sealed by the
/// root ring) → one data key per workspace (table workspace_keys, wrapped by a KEK version) → chunks (AES-256-GCM
/// under the data key). Rotation adds a KEK version, rewraps every data key and retires the old versions; chunks are
/// never re-encrypted. Unwrapped keys are cached in memory: a data key never changes when it is rewrapped.
/// </summary>
public sealed class KeyService(NpgsqlDataSource db, KeyRing root, TimeProvider time)
{
    public const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const long RotationLockId = 0x4845_4144_594B_4559; // "HEADYKEY"

    private readonly EnvelopeEncryption envelope = new(root);
    private readonly ConcurrentDictionary<int, byte[]> keks = new();
    private readonly ConcurrentDictionary<(Guid Workspace, int Version), byte[]> dataKeys = new();
    private readonly ConcurrentDictionary<Guid, int> activeDataKeyVersion = new();

    public static string KekName(int version) => $"headyme-kek-{version}";

    /// <summary>The workspace's current data key, created (under the active KEK) on first use.</summary>
    public async Task<(int Version, byte[] Key)> GetActiveDataKeyAsync(Guid workspaceId, CancellationToken ct)
    {
        if (activeDataKeyVersion.TryGetValue(workspaceId, out var cachedVersion) && dataKeys.TryGetValue((workspaceId, cachedVersion), out var cached))
        {
            return (cachedVersion, cached);
        }

        await using var connection = await db.OpenConnectionAsync(ct);
        var existing = await ReadDataKeyAsync(connection, workspaceId, null, ct);
        if (existing is null)
        {
            var (kekVersion, kek) = await GetActiveKekAsync(connection, ct);
            var key = RandomNumberGenerator.GetBytes(KeySize);
            await using (var insert = new NpgsqlCommand(
                "INSERT INTO workspace_keys (workspace_id, version, kek_version, wrapped_key, created_at) VALUES (@w, 1, @k, @key, @now) ON CONFLICT DO NOTHING",
                connection))
            {
                insert.Parameters.AddWithValue("w", workspaceId);
                insert.Parameters.AddWithValue("k", kekVersion);
                insert.Parameters.AddWithValue("key", WrapDataKey(kek, workspaceId, 1, key));
                insert.Parameters.AddWithValue("now", time.GetUtcNow());
                await insert.ExecuteNonQueryAsync(ct);
            }

            // Another request may have won the insert: read back what is stored.
            existing = await ReadDataKeyAsync(connection, workspaceId, null, ct)
                ?? throw new InvalidOperationException($"Workspace {workspaceId} has no data key after creating one.");
        }

        activeDataKeyVersion[workspaceId] = existing.Value.Version;
        return existing.Value;
    }

    public async Task<byte[]> GetDataKeyAsync(Guid workspaceId, int version, CancellationToken ct)
    {
        if (dataKeys.TryGetValue((workspaceId, version), out var cached))
        {
            return cached;
        }

        await using var connection = await db.OpenConnectionAsync(ct);
        var found = await ReadDataKeyAsync(connection, workspaceId, version, ct)
            ?? throw new CryptographicException($"Workspace {workspaceId} has no data key version {version}.");
        return found.Key;
    }

    private async Task<(int Version, byte[] Key)?> ReadDataKeyAsync(NpgsqlConnection connection, Guid workspaceId, int? version, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            version is null
                ? "SELECT version, kek_version, wrapped_key FROM workspace_keys WHERE workspace_id = @w ORDER BY version DESC LIMIT 1"
                : "SELECT version, kek_version, wrapped_key FROM workspace_keys WHERE workspace_id = @w AND version = @v",
            connection);
        command.Parameters.AddWithValue("w", workspaceId);
        if (version is not null)
        {
            command.Parameters.AddWithValue("v", version.Value);
        }

        int dataVersion, kekVersion;
        byte[] wrapped;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }

            (dataVersion, kekVersion, wrapped) = (reader.GetInt32(0), reader.GetInt32(1), (byte[])reader[2]);
        }

        var kek = await GetKekAsync(connection, kekVersion, ct);
        var key = UnwrapDataKey(kek, workspaceId, dataVersion, wrapped);
        dataKeys[(workspaceId, dataVersion)] = key;
        return (dataVersion, key);
    }

    private async Task<(int Version, byte[] Kek)> GetActiveKekAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await using (var command = new NpgsqlCommand(
                "SELECT version FROM kek_versions WHERE retired_at IS NULL ORDER BY version DESC LIMIT 1", connection))
            {
                if (await command.ExecuteScalarAsync(ct) is int version)
                {
                    return (version, await GetKekAsync(connection, version, ct));
                }
            }

            await CreateKekAsync(connection, 1, ct);
        }

        throw new InvalidOperationException("No active key-encryption key version could be created.");
    }

    private async Task CreateKekAsync(NpgsqlConnection connection, int version, CancellationToken ct)
    {
        var kek = RandomNumberGenerator.GetBytes(KeySize);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO kek_versions (version, wrapped_key, created_at) VALUES (@v, @key, @now) ON CONFLICT DO NOTHING", connection);
        insert.Parameters.AddWithValue("v", version);
        insert.Parameters.AddWithValue("key", envelope.Encrypt(kek, KekContext(version)));
        insert.Parameters.AddWithValue("now", time.GetUtcNow());
        await insert.ExecuteNonQueryAsync(ct);
    }

    private async Task<byte[]> GetKekAsync(NpgsqlConnection connection, int version, CancellationToken ct)
    {
        if (keks.TryGetValue(version, out var cached))
        {
            return cached;
        }

        await using var command = new NpgsqlCommand("SELECT wrapped_key FROM kek_versions WHERE version = @v", connection);
        command.Parameters.AddWithValue("v", version);
        var wrapped = await command.ExecuteScalarAsync(ct) as byte[]
            ?? throw new CryptographicException($"Key-encryption key version {version} is retired or unknown.");
        var kek = envelope.Decrypt(wrapped, KekContext(version));
        keks[version] = kek;
        return kek;
    }

    /// <summary>
    /// New active KEK version; every data key rewrapped under it; every older version with no data key left retired
    /// (its sealed key material deleted). Also reseals the KEK versions under the root ring's active key.
    /// </summary>
    public async Task<KeyRotationResponse> RotateAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@id)", connection, tx))
        {
            lockCommand.Parameters.AddWithValue("id", RotationLockId);
            await lockCommand.ExecuteNonQueryAsync(ct);
        }

        int next;
        await using (var max = new NpgsqlCommand("SELECT coalesce(max(version), 0) + 1 FROM kek_versions", connection, tx))
        {
            next = (int)(await max.ExecuteScalarAsync(ct))!;
        }

        try
        {
            return await RotateToAsync(connection, tx, next, ct);
        }
        catch
        {
            keks.TryRemove(next, out _); // cached but never committed
            throw;
        }
    }

    private async Task<KeyRotationResponse> RotateToAsync(NpgsqlConnection connection, NpgsqlTransaction tx, int next, CancellationToken ct)
    {
        await CreateKekAsync(connection, next, ct);
        var newKek = await GetKekAsync(connection, next, ct);

        var rows = new List<(Guid Workspace, int Version, int Kek, byte[] Wrapped)>();
        await using (var select = new NpgsqlCommand(
            "SELECT workspace_id, version, kek_version, wrapped_key FROM workspace_keys WHERE kek_version <> @v FOR UPDATE", connection, tx))
        {
            select.Parameters.AddWithValue("v", next);
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetGuid(0), reader.GetInt32(1), reader.GetInt32(2), (byte[])reader[3]));
            }
        }

        foreach (var (workspace, version, kekVersion, wrapped) in rows)
        {
            var oldKek = await GetKekAsync(connection, kekVersion, ct);
            var key = UnwrapDataKey(oldKek, workspace, version, wrapped);
            await using var update = new NpgsqlCommand(
                "UPDATE workspace_keys SET kek_version = @k, wrapped_key = @key WHERE workspace_id = @w AND version = @v", connection, tx);
            update.Parameters.AddWithValue("k", next);
            update.Parameters.AddWithValue("key", WrapDataKey(newKek, workspace, version, key));
            update.Parameters.AddWithValue("w", workspace);
            update.Parameters.AddWithValue("v", version);
            await update.ExecuteNonQueryAsync(ct);
        }

        var retired = new List<string>();
        await using (var retire = new NpgsqlCommand(
            """
            UPDATE kek_versions k SET wrapped_key = NULL, retired_at = @now
            WHERE k.version <> @v AND k.retired_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM workspace_keys w WHERE w.kek_version = k.version)
            RETURNING k.version
            """, connection, tx))
        {
            retire.Parameters.AddWithValue("v", next);
            retire.Parameters.AddWithValue("now", time.GetUtcNow());
            await using var reader = await retire.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                retired.Add(KekName(reader.GetInt32(0)));
            }
        }

        // The KEK versions still in use move to the root ring's active key as well (root-key rotation).
        var live = new List<(int Version, byte[] Wrapped)>();
        await using (var select = new NpgsqlCommand("SELECT version, wrapped_key FROM kek_versions WHERE wrapped_key IS NOT NULL", connection, tx))
        await using (var reader = await select.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                live.Add((reader.GetInt32(0), (byte[])reader[1]));
            }
        }

        foreach (var (version, wrapped) in live.Where(l => EnvelopeEncryption.KeyIdOf(l.Wrapped) != root.ActiveKeyId))
        {
            await using var update = new NpgsqlCommand("UPDATE kek_versions SET wrapped_key = @key WHERE version = @v", connection, tx);
            update.Parameters.AddWithValue("key", envelope.Rewrap(wrapped, KekContext(version)));
            update.Parameters.AddWithValue("v", version);
            await update.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        foreach (var name in retired)
        {
            keks.TryRemove(int.Parse(name["headyme-kek-".Length..], System.Globalization.CultureInfo.InvariantCulture), out _);
        }

        return new KeyRotationResponse(KekName(next), rows.Count, retired);
    }

    private static string KekContext(int version) => $"headyme:kek:{version}";

    private static byte[] DataKeyAad(Guid workspaceId, int version) => Encoding.UTF8.GetBytes($"headyme:data-key:{workspaceId}:{version}");

    private static byte[] WrapDataKey(byte[] kek, Guid workspaceId, int version, byte[] key)
    {
        var blob = new byte[NonceSize + KeySize + TagSize];
        RandomNumberGenerator.Fill(blob.AsSpan(0, NonceSize));
        using var gcm = new AesGcm(kek, TagSize);
        gcm.Encrypt(blob.AsSpan(0, NonceSize), key, blob.AsSpan(NonceSize, KeySize), blob.AsSpan(NonceSize + KeySize), DataKeyAad(workspaceId, version));
        return blob;
    }

    private static byte[] UnwrapDataKey(byte[] kek, Guid workspaceId, int version, byte[] blob)
    {
        if (blob.Length != NonceSize + KeySize + TagSize)
        {
            throw new CryptographicException($"The wrapped data key of workspace {workspaceId} is malformed.");
        }

        var key = new byte[KeySize];
        using var gcm = new AesGcm(kek, TagSize);
        gcm.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize, KeySize), blob.AsSpan(NonceSize + KeySize), key, DataKeyAad(workspaceId, version));
        return key;
    }
}
