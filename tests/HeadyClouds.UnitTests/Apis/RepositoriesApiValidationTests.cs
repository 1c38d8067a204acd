using Monorepo.Sync.Apis;

namespace HeadyClouds.UnitTests.Apis;

public sealed class RepositoriesApiValidationTests
{
    private const string Url = "https://git.example.com/org/repo.git";

    [Theory]
    [InlineData("repo", Url, null)]
    [InlineData("Repo.Name_1-x", "git@git.example.com:org/repo.git", "main")]
    [InlineData("r", "ssh://git@git.example.com/org/repo.git", "release/2026.12")]
    [InlineData("0", Url, "feature/x-y_z")]
    public void GoodRequestsAreValid(string name, string url, string? branch)
    {
        var v = RepositoriesApi.Validate(new RegisterRepositoryRequest(name, url, branch));
        Assert.True(v.IsValid, string.Join("; ", v.Errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}"))));
    }

    [Fact]
    public void NameOf100CharactersIsValidAnd101IsNot()
    {
        Assert.True(RepositoriesApi.Validate(new RegisterRepositoryRequest(new string('r', 100), Url, null)).IsValid);
        AssertOnlyField("name", new RegisterRepositoryRequest(new string('r', 101), Url, null));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("with space")]
    [InlineData("a/b")]
    [InlineData("ümlaut")]
    [InlineData("repo\n")] // a trailing newline must not slip through a '$' anchor
    public void BadNamesAreNamed(string? name) => AssertOnlyField("name", new RegisterRepositoryRequest(name, Url, null));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("file:///srv/git/repo.git")]
    [InlineData("/srv/git/repo.git")]
    [InlineData("http://git.example.com/org/repo.git")]
    [InlineData("https://user:secret@git.example.com/org/repo.git")]
    public void BadSourceUrlsAreNamed(string? url) => AssertOnlyField("sourceUrl", new RegisterRepositoryRequest("repo", url, null));

    [Theory]
    [InlineData("")]
    [InlineData("/main")]
    [InlineData("main/")]
    [InlineData("main.")]
    [InlineData("feature//x")]
    [InlineData("a..b")]
    [InlineData("a@{b")]
    [InlineData("x.lock")]
    [InlineData("x.lock/y")]
    [InlineData("a/.hidden")]
    [InlineData(".hidden")]
    [InlineData("with space")]
    [InlineData("tilde~1")]
    [InlineData("caret^")]
    [InlineData("colon:")]
    [InlineData("question?")]
    [InlineData("star*")]
    [InlineData("bracket[")]
    [InlineData("back\\slash")]
    [InlineData("main\n")] // a trailing newline must not slip through a '$' anchor
    public void BadBranchesAreNamed(string branch) => AssertOnlyField("defaultBranch", new RegisterRepositoryRequest("repo", Url, branch));

    [Fact]
    public void EveryBadFieldIsNamedAtOnce()
    {
        var v = RepositoriesApi.Validate(new RegisterRepositoryRequest("..", "file:///etc", "a..b"));

        Assert.Equal(["defaultBranch", "name", "sourceUrl"], v.Errors.Keys.Order(StringComparer.Ordinal));
    }

    private static void AssertOnlyField(string field, RegisterRepositoryRequest request)
    {
        var v = RepositoriesApi.Validate(request);
        Assert.False(v.IsValid);
        Assert.Equal([field], v.Errors.Keys);
        Assert.NotEmpty(v.Errors[field]);
    }
}
