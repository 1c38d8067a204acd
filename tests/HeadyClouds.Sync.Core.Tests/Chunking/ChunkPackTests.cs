using System.Buffers.Binary;
using HeadyClouds.Sync.Core.Chunking;

namespace HeadyClouds.Sync.Core.Tests.Chunking;

public class ChunkPackTests
{
    private static async Task<byte[]> PackAsync(params byte[][] chunks)
    {
        var body = new MemoryStream();
        var writer = new ChunkPackWriter(body);
        foreach (var chunk in chunks)
        {
            await writer.WriteAsync(chunk);
        }

        Assert.Equal(body.Length, writer.BytesWritten);
        return body.ToArray();
    }

    private static async Task<List<(ChunkId Id, byte[] Data)>> ReadAsync(byte[] body, ChunkPackLimits? limits = null, int maxRead = 1 << 20)
    {
        using var reader = new ChunkPackReader(new TrickleStream(body, maxRead), limits);
        var result = new List<(ChunkId, byte[])>();
        await foreach (var record in reader.ReadAllAsync())
        {
            result.Add((record.Id, record.Data.ToArray()));
        }

        return result;
    }

    [Fact]
    public async Task Wire_format_is_hash_then_big_endian_length_then_bytes()
    {
        var body = await PackAsync("abc"u8.ToArray());
        Assert.Equal(32 + 4 + 3, body.Length);
        Assert.Equal(ChunkId.Compute("abc"u8).ToBytes(), body[..32]);
        Assert.Equal(new byte[] { 0, 0, 0, 3 }, body[32..36]);
        Assert.Equal("abc"u8.ToArray(), body[36..]);
        Assert.Equal("application/vnd.heady.chunkpack", ChunkPack.ContentType);
    }

    [Fact]
    public async Task Round_trip_of_many_chunks_with_small_reads()
    {
        var chunks = Enumerable.Range(1, 40).Select(i => TestData.Bytes(i * 997, (ulong)i)).ToArray();
        var body = await PackAsync(chunks);
        Assert.Equal(ChunkPack.EncodedLength(chunks.Select(c => c.Length)), body.Length);
        var read = await ReadAsync(body, maxRead: 17);
        Assert.Equal(chunks.Length, read.Count);
        for (var i = 0; i < chunks.Length; i++)
        {
            Assert.Equal(ChunkId.Compute(chunks[i]), read[i].Id);
            Assert.Equal(chunks[i], read[i].Data);
        }
    }

    [Fact]
    public async Task Empty_body_is_an_empty_pack()
    {
        Assert.Empty(await ReadAsync([]));
    }

    [Fact]
    public async Task A_tampered_data_byte_is_rejected()
    {
        var body = await PackAsync("first"u8.ToArray(), "second"u8.ToArray());
        body[^1] ^= 1;
        var error = await Assert.ThrowsAsync<ChunkPackFormatException>(() => ReadAsync(body));
        Assert.Equal(ChunkPackError.HashMismatch, error.Error);
        Assert.Equal(1, error.RecordIndex);
        Assert.Equal(36 + 5, error.ByteOffset);
        Assert.Contains("record 1", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_tampered_hash_is_rejected()
    {
        var body = await PackAsync("first"u8.ToArray());
        body[0] ^= 1;
        var error = await Assert.ThrowsAsync<ChunkPackFormatException>(() => ReadAsync(body));
        Assert.Equal(ChunkPackError.HashMismatch, error.Error);
    }

    [Theory]
    [InlineData(1, ChunkPackError.TruncatedHeader)]
    [InlineData(20, ChunkPackError.TruncatedHeader)]
    [InlineData(35, ChunkPackError.TruncatedHeader)]
    [InlineData(36, ChunkPackError.TruncatedData)]
    [InlineData(40, ChunkPackError.TruncatedData)]
    public async Task A_truncated_pack_is_rejected(int keep, ChunkPackError expected)
    {
        var body = await PackAsync("0123456789"u8.ToArray());
        var error = await Assert.ThrowsAsync<ChunkPackFormatException>(() => ReadAsync(body[..keep]));
        Assert.Equal(expected, error.Error);
    }

    [Fact]
    public async Task A_chunk_over_the_limit_is_rejected_before_it_is_read()
    {
        var header = new byte[36];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(32), uint.MaxValue);
        // Only the header is sent: the reader must refuse on the declared length, not wait for 4 GiB.
        var error = await Assert.ThrowsAsync<ChunkPackFormatException>(() => ReadAsync(header));
        Assert.Equal(ChunkPackError.ChunkTooLarge, error.Error);

        var body = await PackAsync(new byte[101]);
        error = await Assert.ThrowsAsync<ChunkPackFormatException>(() => ReadAsync(body, new ChunkPackLimits { MaxChunkLength = 100 }));
        Assert.Equal(ChunkPackError.ChunkTooLarge, error.Error);
        Assert.Single(await ReadAsync(body, new ChunkPackLimits { MaxChunkLength = 101 }));
    }

    [Fact]
    public async Task More_records_than_the_limit_are_rejected()
    {
        var body = await PackAsync("a"u8.ToArray(), "b"u8.ToArray(), "c"u8.ToArray());
        Assert.Equal(3, (await ReadAsync(body, new ChunkPackLimits { MaxRecords = 3 })).Count);
        var error = await Assert.ThrowsAsync<ChunkPackFormatException>(() => ReadAsync(body, new ChunkPackLimits { MaxRecords = 2 }));
        Assert.Equal(ChunkPackError.TooManyRecords, error.Error);
        Assert.Equal(2, error.RecordIndex);
    }

    [Fact]
    public async Task An_empty_chunk_record_is_rejected()
    {
        var body = new byte[36];
        ChunkId.Compute([]).WriteBytes(body);
        var error = await Assert.ThrowsAsync<ChunkPackFormatException>(() => ReadAsync(body));
        Assert.Equal(ChunkPackError.EmptyChunk, error.Error);
        await Assert.ThrowsAsync<ArgumentException>(() => new ChunkPackWriter(new MemoryStream()).WriteAsync(ReadOnlyMemory<byte>.Empty));
    }
}
