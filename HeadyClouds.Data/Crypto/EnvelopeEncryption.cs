using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace HeadyClouds.Data.Crypto;

/// <summary>
/// Envelope encryption for secrets at rest (credentials, webhook secrets): every value gets its own random 256-bit
/// data key (DEK); the value is sealed with AES-256-GCM under the DEK, and the DEK is sealed with AES-256-GCM under a
/// key-encryption key (KEK) from the <see cref="KeyRing"/>. The stored blob names the KEK by id, so KEKs can rotate
/// (new values use the active KEK; <see cref="Rewrap"/> moves old blobs without touching the plaintext's ciphertext).
/// A context string (e.g. "monorepo:repository:{id}:source") is bound as associated data, so a blob copied to another
/// row or purpose does not decrypt.
/// Layout: 'H','E',1 | kek-id length (1) | kek-id (UTF-8) | DEK nonce (12) | wrapped DEK (32) | DEK tag (16)
///         | value nonce (12) | value tag (16) | ciphertext.
/// </summary>
public sealed class EnvelopeEncryption(KeyRing keys)
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int KeySize = 32;

    public byte[] Encrypt(string plaintext, string context) => Encrypt(Encoding.UTF8.GetBytes(plaintext), context);

    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, string context)
    {
        var (kekId, kek) = keys.Active;
        var kekIdBytes = Encoding.UTF8.GetBytes(kekId);
        var aad = Encoding.UTF8.GetBytes(context);
        Span<byte> dek = stackalloc byte[KeySize];
        RandomNumberGenerator.Fill(dek);
        try
        {
            var blob = new byte[3 + 1 + kekIdBytes.Length + NonceSize + KeySize + TagSize + NonceSize + TagSize + plaintext.Length];
            var offset = WriteHeader(blob, kekIdBytes);
            offset = Seal(kek, dek, aad, blob, offset);
            var valueNonce = blob.AsSpan(offset, NonceSize);
            RandomNumberGenerator.Fill(valueNonce);
            var valueTag = blob.AsSpan(offset + NonceSize, TagSize);
            var ciphertext = blob.AsSpan(offset + NonceSize + TagSize);
            using var gcm = new AesGcm(dek, TagSize);
            gcm.Encrypt(valueNonce, plaintext, ciphertext, valueTag, aad);
            return blob;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    public string DecryptString(byte[] blob, string context) => Encoding.UTF8.GetString(Decrypt(blob, context));

    /// <exception cref="CryptographicException">Tampered, truncated, wrong context, or its KEK is not in the ring.</exception>
    public byte[] Decrypt(byte[] blob, string context)
    {
        var (kekId, offset) = ReadHeader(blob);
        var kek = keys.Get(kekId) ?? throw new CryptographicException($"Key-encryption key '{kekId}' is not in the key ring.");
        var aad = Encoding.UTF8.GetBytes(context);
        Span<byte> dek = stackalloc byte[KeySize];
        try
        {
            offset = Open(kek, blob, offset, aad, dek);
            var valueNonce = blob.AsSpan(offset, NonceSize);
            var valueTag = blob.AsSpan(offset + NonceSize, TagSize);
            var ciphertext = blob.AsSpan(offset + NonceSize + TagSize);
            var plaintext = new byte[ciphertext.Length];
            using var gcm = new AesGcm(dek, TagSize);
            gcm.Decrypt(valueNonce, ciphertext, valueTag, plaintext, aad);
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    /// <summary>Re-seals the blob's DEK under the active KEK; the value's ciphertext is copied unchanged.</summary>
    public byte[] Rewrap(byte[] blob, string context)
    {
        var (kekId, offset) = ReadHeader(blob);
        var (activeId, activeKek) = keys.Active;
        if (kekId == activeId)
        {
            return blob;
        }

        var oldKek = keys.Get(kekId) ?? throw new CryptographicException($"Key-encryption key '{kekId}' is not in the key ring.");
        var aad = Encoding.UTF8.GetBytes(context);
        Span<byte> dek = stackalloc byte[KeySize];
        try
        {
            var rest = Open(oldKek, blob, offset, aad, dek);
            var activeIdBytes = Encoding.UTF8.GetBytes(activeId);
            var tail = blob.AsSpan(rest);
            var result = new byte[3 + 1 + activeIdBytes.Length + NonceSize + KeySize + TagSize + tail.Length];
            var o = WriteHeader(result, activeIdBytes);
            o = Seal(activeKek, dek, aad, result, o);
            tail.CopyTo(result.AsSpan(o));
            return result;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    public static string KeyIdOf(byte[] blob) => ReadHeader(blob).KekId;

    private static int WriteHeader(byte[] blob, byte[] kekId)
    {
        blob[0] = (byte)'H';
        blob[1] = (byte)'E';
        blob[2] = Version;
        blob[3] = checked((byte)kekId.Length);
        kekId.CopyTo(blob, 4);
        return 4 + kekId.Length;
    }

    private static (string KekId, int Offset) ReadHeader(byte[] blob)
    {
        if (blob.Length < 4 || blob[0] != 'H' || blob[1] != 'E' || blob[2] != Version)
        {
            throw new CryptographicException("Not an envelope-encrypted value (bad header).");
        }

        var idLength = blob[3];
        var minimum = 4 + idLength + NonceSize + KeySize + TagSize + NonceSize + TagSize;
        if (blob.Length < minimum)
        {
            throw new CryptographicException("The encrypted value is truncated.");
        }

        return (Encoding.UTF8.GetString(blob, 4, idLength), 4 + idLength);
    }

    private static int Seal(byte[] kek, ReadOnlySpan<byte> dek, byte[] aad, byte[] blob, int offset)
    {
        var nonce = blob.AsSpan(offset, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(kek, TagSize);
        gcm.Encrypt(nonce, dek, blob.AsSpan(offset + NonceSize, KeySize), blob.AsSpan(offset + NonceSize + KeySize, TagSize), aad);
        return offset + NonceSize + KeySize + TagSize;
    }

    private static int Open(byte[] kek, byte[] blob, int offset, byte[] aad, Span<byte> dek)
    {
        using var gcm = new AesGcm(kek, TagSize);
        gcm.Decrypt(
            blob.AsSpan(offset, NonceSize),
            blob.AsSpan(offset + NonceSize, KeySize),
            blob.AsSpan(offset + NonceSize + KeySize, TagSize),
            dek,
            aad);
        return offset + NonceSize + KeySize + TagSize;
    }
}
