using System.Text;
using System.Text.Json;
using HeadyClouds.Sync.Core.Chunking;

namespace HeadyClouds.Sync.Core.Tests.Chunking;

public class ChunkIdTests
{
    private const string AbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    [Fact]
    public void Compute_is_lowercase_hex_sha256()
    {
        Assert.Equal(AbcSha256, ChunkId.Compute("abc"u8).Value);
    }

    [Fact]
    public void Parse_round_trips_and_bytes_match()
    {
        var id = ChunkId.Parse(AbcSha256);
        Assert.Equal(ChunkId.Compute("abc"u8), id);
        Assert.Equal(Convert.FromHexString(AbcSha256), id.ToBytes());
        Assert.Equal(id, ChunkId.FromHash(id.ToBytes()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015add")]
    [InlineData("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("../816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    public void Invalid_text_is_rejected(string? text)
    {
        Assert.False(ChunkId.IsValid(text));
        Assert.False(ChunkId.TryParse(text, out _));
        if (text is not null)
        {
            var error = Assert.Throws<FormatException>(() => ChunkId.Parse(text));
            Assert.Contains("64 lowercase hex", error.Message);
        }
    }

    [Fact]
    public void Json_is_the_hex_string()
    {
        var id = ChunkId.Compute("abc"u8);
        var json = JsonSerializer.Serialize(new { id });
        Assert.Equal($"{{\"id\":\"{AbcSha256}\"}}", json);
        Assert.Equal(id, JsonSerializer.Deserialize<ChunkId>($"\"{AbcSha256}\""));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ChunkId>("\"nope\""));
    }

    [Fact]
    public void Default_is_empty_and_cannot_be_written()
    {
        Assert.True(default(ChunkId).IsEmpty);
        Assert.Throws<InvalidOperationException>(() => default(ChunkId).ToBytes());
        Assert.NotEqual(default, ChunkId.Compute(Encoding.UTF8.GetBytes("")));
    }
}
