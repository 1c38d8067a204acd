using Heady.Cli.Sync;

namespace Heady.Cli.Tests.Local;

public class LocalPathsTests
{
    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("a/../../evil.txt")]
    [InlineData("a/../evil.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("/tmp/evil.txt")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a//b")]
    [InlineData("a\\..\\..\\evil.txt")]
    [InlineData("a/\0b")]
    [InlineData("")]
    [InlineData(".heady/state.db")]
    [InlineData(".heady")]
    public void Hostile_names_are_refused(string hostile)
    {
        using var root = new TempFolder();
        Assert.Null(LocalPaths.TryResolve(root.Path, hostile, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("a.txt")]
    [InlineData("docs/report (conflicted copy 2026-12-04 101500 laptop).docx")]
    [InlineData("deep/er/still/file")]
    [InlineData("..hidden")]
    [InlineData("a..b/c")]
    public void Ordinary_names_resolve_inside_the_folder(string path)
    {
        using var root = new TempFolder();
        var full = LocalPaths.TryResolve(root.Path, path, out var error);
        Assert.Null(error);
        Assert.StartsWith(root.Path + "/", full);
        Assert.Equal(path, LocalPaths.ToWorkspacePath(root.Path, full!));
    }

    [Fact]
    public void A_folder_that_is_a_symlink_to_elsewhere_is_refused()
    {
        using var root = new TempFolder();
        using var outside = new TempFolder();
        Directory.CreateSymbolicLink(Path.Combine(root.Path, "docs"), outside.Path);
        Assert.Null(LocalPaths.TryResolve(root.Path, "docs/a.txt", out var error));
        Assert.Contains("symbolic link", error);
        Assert.Null(LocalPaths.TryResolve(root.Path, "docs/sub/a.txt", out _));
    }

    [Fact]
    public void A_file_that_is_a_symlink_is_refused()
    {
        using var root = new TempFolder();
        using var outside = new TempFolder();
        File.CreateSymbolicLink(Path.Combine(root.Path, "a.txt"), outside.File("target.txt", "x"));
        Assert.Null(LocalPaths.TryResolve(root.Path, "a.txt", out var error));
        Assert.Contains("symbolic link", error);
    }

    [Fact]
    public void A_parent_that_is_a_file_is_refused()
    {
        using var root = new TempFolder();
        root.File("a", "file");
        Assert.Null(LocalPaths.TryResolve(root.Path, "a/b.txt", out var error));
        Assert.Contains("is a file", error);
    }
}
