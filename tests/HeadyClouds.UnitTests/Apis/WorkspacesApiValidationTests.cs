using HeadyMe.Sync.Apis;
using HeadyMe.Sync.Domain;

namespace HeadyClouds.UnitTests.Apis;

public sealed class WorkspacesApiValidationTests
{
    [Theory]
    [InlineData("Notes")]
    [InlineData("x")]
    [InlineData("My Workspace 2026")]
    [InlineData("Café")]
    [InlineData("Cafe\u0301")] // NFD: normalized to NFC before it is checked
    [InlineData("日記")]
    [InlineData("a.b-c_d (e)")]
    public void GoodNamesAreValid(string name) => Assert.True(WorkspacesApi.Validate(new CreateWorkspaceRequest(name)).IsValid);

    [Fact]
    public void NameOf100CharactersIsValidAnd101IsNot()
    {
        Assert.True(WorkspacesApi.Validate(new CreateWorkspaceRequest(new string('w', 100))).IsValid);
        AssertNameRefused(new string('w', 101));
    }

    [Fact]
    public void LengthIsMeasuredAfterNfcNormalization()
    {
        // 51 × "e + combining accent" is 102 UTF-16 units in NFD but 51 in NFC.
        var nfd = string.Concat(Enumerable.Repeat("e\u0301", 51));
        Assert.Equal(102, nfd.Length);
        Assert.True(WorkspacesApi.Validate(new CreateWorkspaceRequest(nfd)).IsValid);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("bell\u0007")]
    [InlineData("new\nline")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("/")]
    public void BadNamesAreNamed(string? name) => AssertNameRefused(name);

    [Fact]
    public void NameWithALoneSurrogateIsRefusedWithoutThrowing()
    {
        // Built in code: [InlineData] would turn the lone surrogate into U+FFFD.
        foreach (var name in new[] { "ws-\uD800", "\uDC00ws" })
        {
            var thrown = Record.Exception(() => WorkspacesApi.Validate(new CreateWorkspaceRequest(name)));
            Assert.True(thrown is null, $"Validate threw: {thrown}");
            AssertNameRefused(name);
        }
    }

    [Fact]
    public void NormalizedNameIgnoresCaseAndForm()
    {
        Assert.Equal(Workspace.Normalize("Café"), Workspace.Normalize("CAFE\u0301"));
        Assert.Equal(Workspace.Normalize("notes"), Workspace.Normalize("NoTeS"));
        Assert.NotEqual(Workspace.Normalize("notes"), Workspace.Normalize("notes2"));
    }

    private static void AssertNameRefused(string? name)
    {
        var v = WorkspacesApi.Validate(new CreateWorkspaceRequest(name));
        Assert.False(v.IsValid);
        Assert.Equal(["name"], v.Errors.Keys);
        Assert.NotEmpty(v.Errors["name"]);
    }
}
