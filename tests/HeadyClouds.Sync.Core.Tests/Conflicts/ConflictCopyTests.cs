using System.Text;
using HeadyClouds.Sync.Core.Conflicts;
using HeadyClouds.Sync.Core.Paths;

namespace HeadyClouds.Sync.Core.Tests.Conflicts;

public sealed class ConflictCopyTests
{
    private static readonly DateTimeOffset When = new(2026, 12, 4, 10, 15, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("report.docx", "report (conflicted copy 2026-12-04 101500 laptop).docx")]
    [InlineData("docs/report.docx", "docs/report (conflicted copy 2026-12-04 101500 laptop).docx")]
    [InlineData("Makefile", "Makefile (conflicted copy 2026-12-04 101500 laptop)")]
    [InlineData(".bashrc", ".bashrc (conflicted copy 2026-12-04 101500 laptop)")]
    [InlineData("archive.tar.gz", "archive.tar (conflicted copy 2026-12-04 101500 laptop).gz")]
    public void NamesTheCopyLikeDropbox(string path, string expected) =>
        Assert.Equal(expected, ConflictCopy.PathFor(path, When, "laptop"));

    [Fact]
    public void UsesUtc() =>
        Assert.Equal("a (conflicted copy 2026-12-04 101500 laptop).txt", ConflictCopy.PathFor("a.txt", When.ToOffset(TimeSpan.FromHours(9)), "laptop"));

    [Fact]
    public void AddsACounterForFurtherAttempts() =>
        Assert.Equal("a (conflicted copy 2026-12-04 101500 laptop 3).txt", ConflictCopy.PathFor("a.txt", When, "laptop", 3));

    [Theory]
    [InlineData("my/phone", "my_phone")]
    [InlineData("  ", "unknown device")]
    [InlineData(null, "unknown device")]
    [InlineData("tab\there", "tab_here")]
    [InlineData("(evil)", "_evil_")]
    public void CleansTheDeviceName(string? device, string expected) => Assert.Equal(expected, ConflictCopy.CleanDevice(device));

    [Fact]
    public void LongDeviceNamesAreShortened() =>
        Assert.Equal(ConflictCopy.MaxDeviceLength, ConflictCopy.CleanDevice(new string('d', 100)).Length);

    [Fact]
    public void TheCopyIsAlwaysAValidPathEvenForMaximalNames()
    {
        var path = "dir/" + new string('é', 120) + ".txt"; // 244 bytes
        var copy = ConflictCopy.PathFor(path, When, new string('x', 100));

        var check = WorkspacePath.Validate(copy);
        Assert.True(check.IsValid, check.Error);
        Assert.True(Encoding.UTF8.GetByteCount(WorkspacePath.Name(copy)) <= WorkspacePath.MaxNameBytes);
        Assert.EndsWith(").txt", copy);
        Assert.StartsWith("dir/", copy);
    }

    [Fact]
    public void RecognizesCopies()
    {
        Assert.True(ConflictCopy.IsConflictCopy(ConflictCopy.PathFor("x/a.txt", When, "pc")));
        Assert.False(ConflictCopy.IsConflictCopy("x/a.txt"));
    }
}
