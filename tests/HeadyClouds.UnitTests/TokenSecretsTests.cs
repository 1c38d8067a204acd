using System.Security.Cryptography;
using System.Text;
using SyncManager.Domain;

namespace HeadyClouds.UnitTests;

public sealed class TokenSecretsTests
{
    [Fact]
    public void GeneratedTokenHasTheMarkerAnd256RandomBitsInBase64Url()
    {
        var token = TokenSecrets.Generate();

        Assert.StartsWith("hc_", token, StringComparison.Ordinal);
        // 32 bytes are 43 base64url characters without padding.
        Assert.Matches("^hc_[A-Za-z0-9_-]{43}$", token);
        Assert.True(TokenSecrets.LooksValid(token));
    }

    [Fact]
    public void GeneratedTokensAreUnique()
    {
        var tokens = Enumerable.Range(0, 2000).Select(_ => TokenSecrets.Generate()).ToList();

        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
        // Not just distinct as a whole: the random part does not repeat a common prefix either.
        Assert.True(tokens.Select(t => t[..12]).Distinct(StringComparer.Ordinal).Count() > 1990);
    }

    [Fact]
    public void HashIsSha256OfUtf8AndStable()
    {
        // FIPS 180-2 test vector for "abc".
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexStringLower(TokenSecrets.Hash("abc")));

        var token = TokenSecrets.Generate();
        Assert.Equal(TokenSecrets.Hash(token), TokenSecrets.Hash(token));
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(token)), TokenSecrets.Hash(token));
        Assert.Equal(32, TokenSecrets.Hash(token).Length);
        Assert.NotEqual(TokenSecrets.Hash(token), TokenSecrets.Hash(token + "x"));
    }

    [Fact]
    public void DisplayPrefixIsTheFirstTenCharacters()
    {
        var token = TokenSecrets.Generate();

        Assert.Equal(token[..10], TokenSecrets.DisplayPrefix(token));
        Assert.StartsWith("hc_", TokenSecrets.DisplayPrefix(token), StringComparison.Ordinal);
        Assert.Equal("short", TokenSecrets.DisplayPrefix("short"));
    }

    [Theory]
    [InlineData("123456789")] // 9 characters: the shortest accepted
    [InlineData("hc_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ")]
    [InlineData("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")]
    public void PlausibleTokensLookValid(string token) => Assert.True(TokenSecrets.LooksValid(token));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("12345678")] // 8 characters
    [InlineData("hc_with space")]
    [InlineData("hc_with\ttab")]
    [InlineData("hc_newline\n")]
    [InlineData("hc_nonascii\u00e9")]
    [InlineData("hc_del\u007f")]
    [InlineData("hc_nul\0abcdef")]
    public void ImplausibleTokensDoNotLookValid(string? token) => Assert.False(TokenSecrets.LooksValid(token));

    [Fact]
    public void LengthBoundsAre9To256()
    {
        Assert.True(TokenSecrets.LooksValid(new string('a', 256)));
        Assert.False(TokenSecrets.LooksValid(new string('a', 257)));
    }
}
