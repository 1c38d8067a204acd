using Heady.Cli.Sync;

namespace Heady.Cli.Tests.Local;

public class IgnoreRulesTests
{
    private static readonly IgnoreRules Rules = new(["# comment", "*.tmp", "build/", "!keep.tmp", "/rootonly.txt", "logs/**/*.log"]);

    [Theory]
    [InlineData("x.tmp", true)]
    [InlineData("a/b/x.tmp", true)]
    [InlineData("keep.tmp", false)]
    [InlineData("build/out.bin", true)]
    [InlineData("src/build/out.bin", true)]
    [InlineData("builder.txt", false)]
    [InlineData("rootonly.txt", true)]
    [InlineData("sub/rootonly.txt", false)]
    [InlineData("logs/a/b/x.log", true)]
    [InlineData("logs/x.txt", false)]
    [InlineData("notes.md", false)]
    [InlineData(".heady/state.db", true)]
    [InlineData("# comment", false)]
    public void Gitignore_syntax(string path, bool ignored)
    {
        Assert.Equal(ignored, Rules.IsIgnored(path, false));
    }

    [Fact]
    public void Folders_match_folder_rules()
    {
        Assert.True(Rules.IsIgnored("build", true));
        Assert.False(Rules.IsIgnored("build", false));
    }

    [Fact]
    public void Loads_from_the_folder()
    {
        using var root = new TempFolder();
        Assert.False(IgnoreRules.Load(root.Path).IsIgnored("a.bak", false));
        root.File(".headyignore", "*.bak\n");
        Assert.True(IgnoreRules.Load(root.Path).IsIgnored("a.bak", false));
    }
}
