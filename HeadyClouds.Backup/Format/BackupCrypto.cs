using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeadyClouds.Data.Crypto;

namespace HeadyClouds.Backup.Format;

/// <summary>A backup that must not be restored: tampered, truncated, reordered, or sealed under a key we do not have.</summary>
public sealed class BackupIntegrityException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The plaintext header of a backup (<c>{id}/header.json</c>): everything needed to find the key, nothing secret.
/// The backup's random data key is sealed (AES-256-GCM) under the KEK <see cref="KeyId"/> with every other field
/// as associated data, so a header edited in any field no longer unwraps.
/// </summary>
public sealed record BackupHeader(
    string Format,
    string BackupId,
    DateTimeOffset CreatedAt,
    string KeyId,
    string NoncePrefix,
    int SegmentSize,
    string WrapNonce,
    string WrappedKey)
{
    public const string CurrentFormat = "heady-backup/1";

    internal byte[] WrapAad() =>
        Encoding.UTF8.GetBytes($"{Format}|{BackupId}|{CreatedAt.UtcTicks}|{KeyId}|{NoncePrefix}|{SegmentSize}");

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, JsonSerializerOptions.Web);

    public static BackupHeader Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var header = JsonSerializer.Deserialize<BackupHeader>(json, JsonSerializerOptions.Web)
                ?? throw new BackupIntegrityException("The backup header is empty.");
            // JSON may omit (or rename) members: every field is required.
            return header is { Format: not null, BackupId: not null, KeyId: not null, NoncePrefix: not null, WrapNonce: not null, WrappedKey: not null }
                ? header
                : throw new BackupIntegrityException("The backup header lacks a field (tampered or not a backup).");
        }
        catch (JsonException e)
        {
            throw new BackupIntegrityException("The backup header is not valid JSON (tampered or not a backup).", e);
        }
    }
}

/// <summary>
/// The keys of one backup. Each part (and the manifest) gets its own AES-256-GCM key derived with HKDF from the backup's
/// data key and the part's name, so segment numbers never repeat a nonce under one key. Segment nonce =
/// 7-byte random prefix of the backup | segment index (uint32 BE) | final flag (1 byte); associated data =
/// backup id | part name | segment index | final flag. A segment moved to another position or part, a dropped last
/// segment (no final flag seen) or an edited byte fails authentication.
/// </summary>
public sealed class BackupKeys : IDisposable
{
    public const int TagSize = 16;
    public const int PrefixSize = 7;
    private const int KeySize = 32;

    private readonly byte[] dataKey;
    private readonly byte[] prefix;

    private BackupKeys(BackupHeader header, byte[] dataKey)
    {
        Header = header;
        this.dataKey = dataKey;
        prefix = Convert.FromBase64String(header.NoncePrefix);
        if (prefix.Length != PrefixSize)
        {
            throw new BackupIntegrityException("The backup header's nonce prefix has the wrong length.");
        }
    }

    public BackupHeader Header { get; }

    public string BackupId => Header.BackupId;

    /// <summary>A new backup: random data key and nonce prefix, the data key sealed under the key ring's key <paramref name="keyId"/>.</summary>
    public static BackupKeys Create(KeyRing ring, string? keyId, string backupId, DateTimeOffset createdAt, int segmentSize)
    {
        keyId ??= ring.ActiveKeyId;
        var kek = ring.Get(keyId) ?? throw new InvalidOperationException($"Backup key '{keyId}' is not in the key ring (Encryption:Keys:{keyId}).");
        var dataKey = RandomNumberGenerator.GetBytes(KeySize);
        var wrapNonce = RandomNumberGenerator.GetBytes(12);
        var header = new BackupHeader(
            BackupHeader.CurrentFormat, backupId, createdAt, keyId,
            Convert.ToBase64String(RandomNumberGenerator.GetBytes(PrefixSize)), segmentSize,
            Convert.ToBase64String(wrapNonce), "");
        var wrapped = new byte[KeySize + TagSize];
        using (var gcm = new AesGcm(kek, TagSize))
        {
            gcm.Encrypt(wrapNonce, dataKey, wrapped.AsSpan(0, KeySize), wrapped.AsSpan(KeySize), header.WrapAad());
        }

        return new BackupKeys(header with { WrappedKey = Convert.ToBase64String(wrapped) }, dataKey);
    }

    /// <summary>Unwraps the data key of an existing backup.</summary>
    /// <exception cref="BackupIntegrityException">Unknown key id, wrong key or an edited header.</exception>
    public static BackupKeys Open(KeyRing ring, BackupHeader header)
    {
        if (header.Format != BackupHeader.CurrentFormat)
        {
            throw new BackupIntegrityException($"Unsupported backup format '{header.Format}' (expected {BackupHeader.CurrentFormat}).");
        }

        if (header.SegmentSize is < 1024 or > 64 * 1024 * 1024)
        {
            throw new BackupIntegrityException($"The backup header's segment size {header.SegmentSize} is out of range.");
        }

        var kek = ring.Get(header.KeyId) ?? throw new BackupIntegrityException(
            $"Backup {header.BackupId} is sealed under key '{header.KeyId}', which is not in the key ring (Encryption:Keys:{header.KeyId}).");
        byte[] wrapped, wrapNonce;
        try
        {
            wrapped = Convert.FromBase64String(header.WrappedKey);
            wrapNonce = Convert.FromBase64String(header.WrapNonce);
        }
        catch (FormatException e)
        {
            throw new BackupIntegrityException("The backup header's wrapped key is not base64 (tampered).", e);
        }

        if (wrapped.Length != KeySize + TagSize || wrapNonce.Length != 12)
        {
            throw new BackupIntegrityException("The backup header's wrapped key has the wrong length (tampered).");
        }

        var dataKey = new byte[KeySize];
        try
        {
            using var gcm = new AesGcm(kek, TagSize);
            gcm.Decrypt(wrapNonce, wrapped.AsSpan(0, KeySize), wrapped.AsSpan(KeySize), dataKey, header.WrapAad());
        }
        catch (CryptographicException e)
        {
            throw new BackupIntegrityException(
                $"Cannot unwrap the data key of backup {header.BackupId} with key '{header.KeyId}': wrong key or the header was tampered with.", e);
        }

        return new BackupKeys(header, dataKey);
    }

    /// <summary>The AES-GCM instance for one part (or the manifest); dispose it.</summary>
    public PartCipher ForPart(string partName)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, KeySize, salt: [],
            info: Encoding.UTF8.GetBytes($"heady-backup-part|{BackupId}|{partName}"));
        return new PartCipher(new AesGcm(key, TagSize), prefix, BackupId, partName);
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(dataKey);
}

/// <summary>Seals and opens the segments of one part.</summary>
public sealed class PartCipher(AesGcm gcm, byte[] prefix, string backupId, string partName) : IDisposable
{
    public string PartName => partName;

    /// <summary>Encrypts <paramref name="buffer"/>[0..length) in place and writes the tag after it.</summary>
    public void Seal(byte[] buffer, int length, int index, bool final)
    {
        Span<byte> nonce = stackalloc byte[12];
        Nonce(nonce, index, final);
        var aad = Aad(index, final);
        gcm.Encrypt(nonce, buffer.AsSpan(0, length), buffer.AsSpan(0, length), buffer.AsSpan(length, BackupKeys.TagSize), aad);
    }

    /// <summary>Decrypts a stored segment (ciphertext | tag) into <paramref name="plaintext"/>; returns the plaintext length and whether it was the last segment.</summary>
    /// <exception cref="BackupIntegrityException">Tampered, moved or truncated.</exception>
    public (int Length, bool Final) Open(ReadOnlySpan<byte> stored, Span<byte> plaintext, int index)
    {
        if (stored.Length < BackupKeys.TagSize || stored.Length - BackupKeys.TagSize > plaintext.Length)
        {
            throw new BackupIntegrityException($"Part '{partName}' segment {index} has an impossible size ({stored.Length} bytes): tampered.");
        }

        var length = stored.Length - BackupKeys.TagSize;
        Span<byte> nonce = stackalloc byte[12];
        // Whether this is the last segment is authenticated but not stored: try "not final" (the common case), then "final".
        foreach (var final in (ReadOnlySpan<bool>)[false, true])
        {
            Nonce(nonce, index, final);
            try
            {
                gcm.Decrypt(nonce, stored[..length], stored[length..], plaintext[..length], Aad(index, final));
                return (length, final);
            }
            catch (AuthenticationTagMismatchException)
            {
            }
        }

        throw new BackupIntegrityException(
            $"Part '{partName}' segment {index} failed authentication: the backup was tampered with, its segments were reordered or swapped, or it is sealed under another key.");
    }

    private void Nonce(Span<byte> nonce, int index, bool final)
    {
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteInt32BigEndian(nonce[BackupKeys.PrefixSize..], index);
        nonce[11] = final ? (byte)1 : (byte)0;
    }

    private byte[] Aad(int index, bool final) => Encoding.UTF8.GetBytes($"{backupId}|{partName}|{index}|{(final ? 1 : 0)}");

    public void Dispose() => gcm.Dispose();
}
