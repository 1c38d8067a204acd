using SyncManager.Apis;
using SyncManager.Domain;

namespace HeadyClouds.UnitTests.Apis;

public sealed class TokensApiValidationTests
{
    [Fact]
    public void NameOnlyIsValid() => Assert.True(TokensApi.Validate(new CreateTokenRequest("laptop", null, null, null)).IsValid);

    [Fact]
    public void EveryKnownScopeIsValid() =>
        Assert.True(TokensApi.Validate(new CreateTokenRequest("ci", [.. TokenScopes.All], 366, Guid.NewGuid())).IsValid);

    [Theory]
    [InlineData(1)]
    [InlineData(30)]
    [InlineData(366)]
    public void ExpiryWithinBoundsIsValid(int days) =>
        Assert.True(TokensApi.Validate(new CreateTokenRequest("ci", ["repos:read"], days, null)).IsValid);

    [Fact]
    public void DefaultScopesAreKnownScopes() => Assert.All(TokensApi.DefaultScopes, s => Assert.Contains(s, TokenScopes.All));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" laptop")]
    [InlineData("laptop ")]
    [InlineData("lap\ttop")]
    [InlineData("lap\u0000top")]
    public void BadNamesAreNamed(string? name) => AssertOnlyField("name", new CreateTokenRequest(name, null, null, null));

    [Fact]
    public void NameOf100CharactersIsValidAnd101IsNot()
    {
        Assert.True(TokensApi.Validate(new CreateTokenRequest(new string('n', 100), null, null, null)).IsValid);
        AssertOnlyField("name", new CreateTokenRequest(new string('n', 101), null, null, null));
    }

    [Fact]
    public void UnknownScopesAreNamedAndListed()
    {
        var errors = AssertOnlyField("scopes", new CreateTokenRequest("ci", ["repos:read", "root", "WORKSPACES:READ"], null, null));

        Assert.Contains("root", errors[0], StringComparison.Ordinal);
        Assert.Contains("WORKSPACES:READ", errors[0], StringComparison.Ordinal);
        Assert.Contains("tokens:manage", errors[0], StringComparison.Ordinal); // the known ones are listed
    }

    [Fact]
    public void EmptyScopeListIsNamed()
    {
        var errors = AssertOnlyField("scopes", new CreateTokenRequest("ci", [], null, null));
        Assert.Contains("at least one scope", errors[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(367)]
    [InlineData(int.MaxValue)]
    public void ExpiryOutOfBoundsIsNamed(int days) => AssertOnlyField("expiresInDays", new CreateTokenRequest("ci", null, days, null));

    [Fact]
    public void EveryBadFieldIsNamedAtOnce()
    {
        var v = TokensApi.Validate(new CreateTokenRequest("", ["nope"], 0, null));

        Assert.Equal(["expiresInDays", "name", "scopes"], v.Errors.Keys.Order(StringComparer.Ordinal));
    }

    private static string[] AssertOnlyField(string field, CreateTokenRequest request)
    {
        var v = TokensApi.Validate(request);
        Assert.False(v.IsValid);
        Assert.Equal([field], v.Errors.Keys);
        return v.Errors[field];
    }
}
