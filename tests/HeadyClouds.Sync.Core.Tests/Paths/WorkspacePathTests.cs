using System.Text;
using HeadyClouds.Sync.Core.Paths;

namespace HeadyClouds.Sync.Core.Tests.Paths;

public sealed class WorkspacePathTests
{
    [Theory]
    [InlineData("a.txt")]
    [InlineData("docs/report.docx")]
    [InlineData("deep/er/still/file")]
    [InlineData(".bashrc")]
    [InlineData("name with spaces/and ünïcödé.txt")]
    [InlineData("emoji 😀/x")]
    [InlineData("...")]
    public void AcceptsOrdinaryRelativePaths(string path)
    {
        var check = WorkspacePath.Validate(path);

        Assert.True(check.IsValid, check.Error);
        Assert.Equal(path, check.Path);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(null, "empty")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("C:/Windows", "absolute")]
    [InlineData("\\\\server\\share", "absolute")]
    [InlineData("a\\b", "backslash")]
    [InlineData("../x", "'..'")]
    [InlineData("a/../../x", "'..'")]
    [InlineData("a/./b", "'.'")]
    [InlineData("..", "'..'")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a/", "ends with '/'")]
    [InlineData("a\0b", "NUL")]
    [InlineData("bell\u0007", "U+0007")]
    [InlineData("new\nline", "U+000A")]
    [InlineData("del\u007f", "U+007F")]
    [InlineData("c1\u0085", "U+0085")]
    public void RefusesHostilePathsWithAPreciseMessage(string? path, string expected)
    {
        var check = WorkspacePath.Validate(path);

        Assert.False(check.IsValid);
        Assert.Contains(expected, check.Error);
    }

    [Fact]
    public void RefusesALoneSurrogate()
    {
        // Not as InlineData: the test runner replaces unpaired surrogates when it serializes arguments.
        var path = "lone " + (char)0xD800 + " surrogate";
        Assert.Contains("unpaired UTF-16 surrogate", WorkspacePath.Validate(path).Error);
    }

    [Fact]
    public void NamesAreLimitedTo255Utf8Bytes()
    {
        Assert.True(WorkspacePath.Validate(new string('a', 255)).IsValid);
        Assert.Contains("256 bytes", WorkspacePath.Validate(new string('a', 256)).Error);
        // 128 two-byte characters = 256 bytes, although only 128 UTF-16 chars.
        Assert.Contains("256 bytes", WorkspacePath.Validate("dir/" + new string('é', 128)).Error);
    }

    [Fact]
    public void PathsAreLimitedTo4096Utf8Bytes()
    {
        var segment = new string('a', 200);
        var ok = string.Join('/', Enumerable.Repeat(segment, 20)) + "/" + new string('b', 4096 - 20 * 201);
        Assert.Equal(4096, Encoding.UTF8.GetByteCount(ok));
        Assert.True(WorkspacePath.Validate(ok).IsValid);
        Assert.Contains("4097 bytes", WorkspacePath.Validate(ok + "c").Error);
    }

    [Fact]
    public void KeyIsTheNfcForm()
    {
        const string nfd = "Cafe\u0301/Re\u0301sume\u0301.txt";
        var check = WorkspacePath.Validate(nfd);

        Assert.Equal(nfd, check.Path);
        Assert.Equal("Caf\u00e9/R\u00e9sum\u00e9.txt", check.Key);
        Assert.NotEqual(WorkspacePath.Key("A.txt"), WorkspacePath.Key("a.txt")); // case-sensitive
    }

    [Fact]
    public void FoldersParentAndName()
    {
        Assert.Equal(["a", "a/b"], WorkspacePath.Folders("a/b/c.txt"));
        Assert.Empty(WorkspacePath.Folders("c.txt"));
        Assert.Equal("a/b", WorkspacePath.Parent("a/b/c.txt"));
        Assert.Equal("", WorkspacePath.Parent("c.txt"));
        Assert.Equal("c.txt", WorkspacePath.Name("a/b/c.txt"));
    }

    [Fact]
    public void FindsNamesThatDifferOnlyByNormalizationInTheSameFolder()
    {
        var clash = WorkspacePath.FindNormalizationClash(["docs/caf\u00e9.txt", "docs/cafe\u0301.txt"]);
        Assert.Equal(new NormalizationClash("docs/caf\u00e9.txt", "docs/cafe\u0301.txt"), clash);

        // At the folder level too.
        Assert.NotNull(WorkspacePath.FindNormalizationClash(["caf\u00e9/a.txt", "cafe\u0301/b.txt"]));
        Assert.Contains("differ only by Unicode normalization", WorkspacePath.ClashMessage(clash!));
    }

    [Fact]
    public void SameSpellingTwiceOrDifferentFoldersIsNoClash()
    {
        Assert.Null(WorkspacePath.FindNormalizationClash(["caf\u00e9/a.txt", "caf\u00e9/b.txt", "other/cafe\u0301.txt"]));
        Assert.Null(WorkspacePath.FindNormalizationClash(["A.txt", "a.txt"]));
    }
}
