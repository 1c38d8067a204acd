using HeadyClouds.Sync.Core.Chunking;

namespace HeadyClouds.Sync.Core.Tests.Chunking;

public class FastCdcTests
{
    private static readonly ChunkerOptions Small = new(256, 1024, 8192);

    // Golden boundaries: if these change, every chunk id of every stored file changes and dedup across
    // versions/devices breaks. Never update them without a migration plan (docs/decisions/0005).
    private static readonly long[] SmallGolden =
    [
        0, 1170, 2618, 4019, 4521, 5758, 6877, 7990, 9990, 11048, 12188, 13418, 15030, 15895, 17050, 18146, 19194,
        19605, 20512, 21615, 23274, 24540, 25614, 26157, 28205, 29328, 30402, 31904, 33251, 34338, 35668, 36779, 38022,
        39710, 41492, 42536, 43743, 44817, 45869, 46219, 47280, 48638, 48949, 50358, 51663, 52786, 53839, 55431, 56691,
        57979, 59208, 60358, 61464, 63095, 64481, 65521,
    ];

    private static readonly long[] DefaultGolden =
    [
        0, 1120020, 2249495, 3643457, 4723182, 5916149, 7679095, 8870489, 9966527, 11685686, 12859611, 14046781,
        15216404, 16510577, 17681775, 19092178, 19666983, 20728076, 22165594, 23879469,
    ];

    [Fact]
    public void Boundaries_of_a_seeded_buffer_are_the_golden_ones_with_small_options()
    {
        var data = TestData.Bytes(64 * 1024, 42);
        var chunks = FastCdc.Chunk(data, Small);
        Assert.Equal(SmallGolden, chunks.Select(c => c.Offset));
        Assert.Equal("a1ecad15be42ad6d06f35f0d210cb0572e667d7209d514fb02b6e6a4539ef186", chunks[0].Id.Value);
    }

    [Fact]
    public void Boundaries_of_a_seeded_buffer_are_the_golden_ones_with_default_options()
    {
        var data = TestData.Bytes(24 * 1024 * 1024, 7);
        var chunks = FastCdc.Chunk(data);
        Assert.Equal(DefaultGolden, chunks.Select(c => c.Offset));
        Assert.Equal("190b7fd2a5bfbbbcfe01d1b83347dfdfa7e0f1a3691922fc81d7535db269aee6", chunks[0].Id.Value);
    }

    [Fact]
    public void Default_options_are_the_recorded_ones()
    {
        // Part of the wire contract between clients and server (dedup depends on identical boundaries).
        Assert.Equal((512 * 1024, 1024 * 1024, 8 * 1024 * 1024, 2),
            (ChunkerOptions.Default.MinSize, ChunkerOptions.Default.AvgSize, ChunkerOptions.Default.MaxSize, ChunkerOptions.Default.NormalizationLevel));
    }

    [Fact]
    public void Chunks_tile_the_input_and_respect_min_and_max()
    {
        var data = TestData.Bytes(2 * 1024 * 1024 + 17, 3);
        var chunks = FastCdc.Split(data, Small);
        long expected = 0;
        for (var i = 0; i < chunks.Count; i++)
        {
            Assert.Equal(expected, chunks[i].Offset);
            Assert.InRange(chunks[i].Length, i == chunks.Count - 1 ? 1 : Small.MinSize, Small.MaxSize);
            expected += chunks[i].Length;
        }

        Assert.Equal(data.Length, expected);
        // Normalized chunking keeps the mean near the average (between min+avg/2 and 2*avg for these options).
        var mean = data.Length / (double)chunks.Count;
        Assert.InRange(mean, Small.AvgSize * 0.75, Small.AvgSize * 2.0);
    }

    [Fact]
    public void Data_without_cut_points_is_cut_at_the_maximum()
    {
        // Constant bytes give a hash that never matches the masks: every chunk is MaxSize.
        var data = new byte[Small.MaxSize * 3 + 5];
        var chunks = FastCdc.Split(data, Small);
        Assert.Equal([Small.MaxSize, Small.MaxSize, Small.MaxSize, 5], chunks.Select(c => c.Length));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(256)]
    [InlineData(257)]
    public void Short_inputs_are_one_chunk_or_none(int length)
    {
        var chunks = FastCdc.Split(TestData.Bytes(length, 1), Small);
        Assert.Equal(length == 0 ? [] : [length], chunks.Select(c => c.Length));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(777_777)]
    [InlineData(1_500_000)]
    [InlineData(3_999_999)]
    public void A_one_byte_overwrite_changes_at_most_two_chunks(int position)
    {
        var data = TestData.Bytes(4 * 1024 * 1024, 11);
        var before = FastCdc.Chunk(data, Small).Select(c => c.Id).ToHashSet();
        data[position] ^= 0x5a;
        var after = FastCdc.Chunk(data, Small);
        Assert.InRange(after.Count(c => !before.Contains(c.Id)), 1, 2);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(777_777)]
    [InlineData(1_500_000)]
    [InlineData(3_999_999)]
    public void A_one_byte_insert_changes_at_most_two_chunks(int position)
    {
        var data = TestData.Bytes(4 * 1024 * 1024, 11);
        var before = FastCdc.Chunk(data, Small).Select(c => c.Id).ToHashSet();
        var inserted = new byte[data.Length + 1];
        data.AsSpan(0, position).CopyTo(inserted);
        inserted[position] = 0x42;
        data.AsSpan(position).CopyTo(inserted.AsSpan(position + 1));
        var after = FastCdc.Chunk(inserted, Small);
        Assert.InRange(after.Count(c => !before.Contains(c.Id)), 1, 2);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 3)]
    [InlineData(8192, 1)]
    [InlineData(8193, 5)]
    [InlineData(300_001, 4096)]
    [InlineData(300_001, 13)]
    public async Task Stream_chunking_equals_span_chunking(int length, int maxRead)
    {
        var data = TestData.Bytes(length, 5);
        var expected = FastCdc.Chunk(data, Small);
        var actual = new List<ChunkInfo>();
        await foreach (var chunk in StreamChunker.ChunkAsync(new TrickleStream(data, maxRead), Small))
        {
            Assert.Equal(data.AsSpan((int)chunk.Offset, chunk.Length), chunk.Data.Span);
            actual.Add(chunk.Info);
        }

        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(8191)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(70_000)]
    public async Task Seekable_streams_with_small_buffers_equal_span_chunking(int length)
    {
        var data = TestData.Bytes(length, 9);
        var actual = await StreamChunker.ChunkListAsync(new MemoryStream(data), Small);
        Assert.Equal(FastCdc.Chunk(data, Small), actual);
    }

    [Fact]
    public async Task A_stream_longer_than_it_claims_is_still_chunked_like_the_span()
    {
        var data = TestData.Bytes(100_000, 10);
        var actual = await StreamChunker.ChunkListAsync(new UnderstatedLengthStream(data, claimedLength: 1000), Small);
        Assert.Equal(FastCdc.Chunk(data, Small), actual);
    }

    private sealed class UnderstatedLengthStream(byte[] data, long claimedLength) : MemoryStream(data)
    {
        public override long Length => claimedLength;
    }

    [Fact]
    public async Task Stream_chunking_with_default_options_equals_span_chunking()
    {
        var data = TestData.Bytes(24 * 1024 * 1024, 7);
        var actual = await StreamChunker.ChunkListAsync(new TrickleStream(data, 1 << 20));
        Assert.Equal(DefaultGolden, actual.Select(c => c.Offset));
        Assert.Equal(FastCdc.Chunk(data), actual);
    }

    [Theory]
    [InlineData(32, 1024, 8192, 2)]
    [InlineData(256, 1000, 8192, 2)]
    [InlineData(256, 256, 8192, 2)]
    [InlineData(256, 1024, 1024, 2)]
    [InlineData(256, 1024, 128 * 1024 * 1024, 2)]
    [InlineData(256, 1024, 8192, 10)]
    public void Invalid_options_are_rejected(int min, int avg, int max, int level)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChunkerOptions(min, avg, max, level));
    }
}
