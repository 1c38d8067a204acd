using Heady.Cli.Commands;

namespace Heady.Cli.Tests.Local;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1073741824", 1073741824L)]
    [InlineData("512B", 512L)]
    [InlineData("1KiB", 1024L)]
    [InlineData("1kb", 1000L)]
    [InlineData("500MB", 500_000_000L)]
    [InlineData("10GiB", 10L << 30)]
    [InlineData("10 GiB", 10L << 30)]
    [InlineData("1.5GiB", 3L << 29)]
    [InlineData("2TB", 2_000_000_000_000L)]
    [InlineData(" 3 mib ", 3L << 20)]
    public void Parses_bytes_and_units(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("-5GB")]
    [InlineData("1.5")]
    [InlineData("1.0000001KiB")]
    [InlineData("10 GiBs")]
    [InlineData("99999999999TiB")]
    [InlineData("1e9")]
    public void Refuses_what_is_not_a_size(string text) => Assert.False(ByteSize.TryParse(text, out _));
}
