using System.Security.Cryptography;
using HeadyMe.Sync.Crypto;

namespace HeadyClouds.UnitTests.HeadyMe;

public sealed class ChunkCipherTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly Guid Workspace = Guid.CreateVersion7();
    private static readonly byte[] Plaintext = "the chunk's plaintext, long enough to look for"u8.ToArray();
    private static readonly string ChunkId = Convert.ToHexStringLower(SHA256.HashData(Plaintext));

    [Fact]
    public void RoundTripsAndNamesTheKeyVersionInTheHeader()
    {
        var blob = ChunkCipher.Encrypt(Key, 7, Workspace, ChunkId, Plaintext);

        Assert.Equal(7, ChunkCipher.KeyVersionOf(blob));
        Assert.Equal(Plaintext, ChunkCipher.Decrypt(Key, Workspace, ChunkId, blob));
        Assert.Equal(-1, blob.AsSpan().IndexOf(Plaintext.AsSpan(0, 16)));
    }

    [Fact]
    public void EncryptingTwiceGivesDifferentCiphertexts() =>
        Assert.NotEqual(ChunkCipher.Encrypt(Key, 1, Workspace, ChunkId, Plaintext), ChunkCipher.Encrypt(Key, 1, Workspace, ChunkId, Plaintext));

    [Fact]
    public void EveryFlippedByteIsAnIntegrityError()
    {
        var blob = ChunkCipher.Encrypt(Key, 1, Workspace, ChunkId, Plaintext);
        for (var i = 0; i < blob.Length; i++)
        {
            var tampered = blob.ToArray();
            tampered[i] ^= 0x01;
            Assert.Throws<ChunkIntegrityException>(() => ChunkCipher.Decrypt(Key, Workspace, ChunkId, tampered));
        }
    }

    [Fact]
    public void ABlobMovedToAnotherWorkspaceOrChunkDoesNotDecrypt()
    {
        var blob = ChunkCipher.Encrypt(Key, 1, Workspace, ChunkId, Plaintext);
        var otherChunk = Convert.ToHexStringLower(SHA256.HashData("other"u8));

        Assert.Throws<ChunkIntegrityException>(() => ChunkCipher.Decrypt(Key, Guid.CreateVersion7(), ChunkId, blob));
        Assert.Throws<ChunkIntegrityException>(() => ChunkCipher.Decrypt(Key, Workspace, otherChunk, blob));
        Assert.Throws<ChunkIntegrityException>(() => ChunkCipher.Decrypt(RandomNumberGenerator.GetBytes(32), Workspace, ChunkId, blob));
        Assert.Throws<ChunkIntegrityException>(() => ChunkCipher.Decrypt(Key, Workspace, ChunkId, blob[..10]));
    }

    [Fact]
    public void ObjectNamesHideTheChunkIdAndDependOnTheWorkspaceKey()
    {
        var name = ChunkCipher.ObjectKey(Key, Workspace, ChunkId);

        Assert.StartsWith($"{Workspace:N}/", name);
        Assert.DoesNotContain(ChunkId, name);
        Assert.Equal(name, ChunkCipher.ObjectKey(Key, Workspace, ChunkId));
        Assert.NotEqual(name.Split('/')[1], ChunkCipher.ObjectKey(RandomNumberGenerator.GetBytes(32), Workspace, ChunkId).Split('/')[1]);
    }
}
