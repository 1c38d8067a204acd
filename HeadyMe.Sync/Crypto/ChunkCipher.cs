using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace HeadyMe.Sync.Crypto;

/// <summary>Thrown when a stored chunk fails authentication or does not hash to its id: never return such bytes.</summary>
public sealed class ChunkIntegrityException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The stored form of a chunk: <c>'H','M','C',1 | data-key version (uint32 BE) | nonce (12) | tag (16) | ciphertext</c>,
/// AES-256-GCM under the workspace data key. The associated data binds the ciphertext to its workspace, chunk id and
/// key version, so an object copied to another name or workspace does not decrypt.
/// </summary>
public static class ChunkCipher
{
    public const int HeaderSize = 4 + 4 + NonceSize + TagSize;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public static byte[] Encrypt(byte[] dataKey, int keyVersion, Guid workspaceId, string chunkId, ReadOnlySpan<byte> plaintext)
    {
        var blob = new byte[HeaderSize + plaintext.Length];
        blob[0] = (byte)'H';
        blob[1] = (byte)'M';
        blob[2] = (byte)'C';
        blob[3] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(4), (uint)keyVersion);
        var nonce = blob.AsSpan(8, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(dataKey, TagSize);
        gcm.Encrypt(nonce, plaintext, blob.AsSpan(HeaderSize), blob.AsSpan(8 + NonceSize, TagSize), Aad(workspaceId, chunkId, keyVersion));
        return blob;
    }

    /// <summary>The data-key version named by the header.</summary>
    public static int KeyVersionOf(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < HeaderSize || blob[0] != 'H' || blob[1] != 'M' || blob[2] != 'C' || blob[3] != 1)
        {
            throw new ChunkIntegrityException("The stored chunk has no valid header.");
        }

        return (int)BinaryPrimitives.ReadUInt32BigEndian(blob[4..]);
    }

    public static byte[] Decrypt(byte[] dataKey, Guid workspaceId, string chunkId, ReadOnlySpan<byte> blob)
    {
        var keyVersion = KeyVersionOf(blob);
        var plaintext = new byte[blob.Length - HeaderSize];
        try
        {
            using var gcm = new AesGcm(dataKey, TagSize);
            gcm.Decrypt(blob.Slice(8, NonceSize), blob[HeaderSize..], blob.Slice(8 + NonceSize, TagSize), plaintext, Aad(workspaceId, chunkId, keyVersion));
        }
        catch (CryptographicException e)
        {
            throw new ChunkIntegrityException($"Chunk {chunkId} failed authentication: the stored object was altered or belongs elsewhere.", e);
        }

        // Defense in depth: the plaintext must still be what the id names.
        if (!Convert.ToHexStringLower(SHA256.HashData(plaintext)).Equals(chunkId, StringComparison.Ordinal))
        {
            throw new ChunkIntegrityException($"Chunk {chunkId} does not hash to its id.");
        }

        return plaintext;
    }

    /// <summary>Object name: a keyed hash of the chunk id under a key derived from the data key (the store never sees content hashes).</summary>
    public static string ObjectKey(byte[] dataKey, Guid workspaceId, string chunkId)
    {
        Span<byte> nameKey = stackalloc byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, nameKey, salt: [], info: "headyme:object-name:v1"u8);
        var mac = HMACSHA256.HashData(nameKey, Convert.FromHexString(chunkId));
        return $"{workspaceId:N}/{Convert.ToHexStringLower(mac)}";
    }

    private static byte[] Aad(Guid workspaceId, string chunkId, int keyVersion) =>
        Encoding.UTF8.GetBytes($"headyme:chunk:v1:{workspaceId}:{chunkId}:{keyVersion}");
}
