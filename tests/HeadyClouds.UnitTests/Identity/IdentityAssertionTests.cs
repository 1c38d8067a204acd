using System.Security.Cryptography;
using System.Text;
using HeadyClouds.ServiceDefaults.Identity;

namespace HeadyClouds.UnitTests.Identity;

public sealed class IdentityAssertionTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("unit-test-signing-key-0123456789-abcdef");
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private static readonly CallerIdentity Alice = new(
        CallerKind.User,
        "0193a1b2-0000-7000-8000-000000000001",
        "alice",
        ["admin"],
        ["workspaces:read", "tokens:manage"],
        "0193a1b2-0000-7000-8000-0000000000ff");

    [Fact]
    public void RoundTripKeepsEveryField()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now, TimeSpan.FromMinutes(1));

        Assert.True(IdentityAssertion.TryValidate(assertion, Key, Now.AddSeconds(30), out var identity, out var error), error);
        Assert.Equal("", error);
        Assert.NotNull(identity);
        Assert.Equal(CallerKind.User, identity.Kind);
        Assert.Equal(Alice.Subject, identity.Subject);
        Assert.Equal(Alice.Name, identity.Name);
        Assert.Equal(Alice.Roles, identity.Roles);
        Assert.Equal(Alice.Scopes, identity.Scopes);
        Assert.Equal(Alice.TokenId, identity.TokenId);
    }

    [Fact]
    public void RoundTripOfAServiceIdentity()
    {
        var assertion = IdentityAssertion.Create(CallerIdentity.ForService("gateway"), Key, Now, TimeSpan.FromSeconds(30));

        Assert.True(IdentityAssertion.TryValidate(assertion, Key, Now, out var identity, out _));
        Assert.Equal(CallerKind.Service, identity!.Kind);
        Assert.Equal("gateway", identity.Subject);
        Assert.Equal("gateway", identity.Name);
        Assert.Empty(identity.Roles);
        Assert.Empty(identity.Scopes);
        Assert.Null(identity.TokenId);
    }

    [Fact]
    public void FormatIsTwoBase64UrlPartsWithoutPadding()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now, TimeSpan.FromMinutes(1));

        var parts = assertion.Split('.');
        Assert.Equal(2, parts.Length);
        Assert.All(parts, p => Assert.Matches("^[A-Za-z0-9_-]+$", p));
        // HMAC-SHA256: 32 bytes, 43 base64url characters.
        Assert.Equal(43, parts[1].Length);
    }

    [Fact]
    public void TamperedPayloadIsRejected()
    {
        var assertion = IdentityAssertion.Create(Alice with { Roles = ["user"] }, Key, Now, TimeSpan.FromMinutes(1));
        var (body, signature) = Split(assertion);

        // Same signature, payload rewritten to claim the admin role.
        var json = Encoding.UTF8.GetString(FromBase64Url(body)).Replace("\"user\"", "\"admin\"", StringComparison.Ordinal);
        Assert.Contains("\"admin\"", json, StringComparison.Ordinal);
        var forged = Base64Url(Encoding.UTF8.GetBytes(json)) + "." + signature;

        Assert.False(IdentityAssertion.TryValidate(forged, Key, Now, out var identity, out var error));
        Assert.Null(identity);
        Assert.Equal("identity assertion signature is invalid", error);
    }

    [Fact]
    public void PayloadWithOneCharacterChangedIsRejected()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now, TimeSpan.FromMinutes(1));
        var (body, signature) = Split(assertion);
        var changed = (body[5] == 'A' ? 'B' : 'A') + "";
        var forged = body[..5] + changed + body[6..] + "." + signature;

        Assert.False(IdentityAssertion.TryValidate(forged, Key, Now, out _, out var error));
        Assert.Equal("identity assertion signature is invalid", error);
    }

    [Fact]
    public void TamperedSignatureIsRejected()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now, TimeSpan.FromMinutes(1));
        var (body, signature) = Split(assertion);
        // The first character carries six significant bits (the last one only four), so this changes the MAC bytes.
        var tampered = (signature[0] == 'A' ? 'B' : 'A') + signature[1..];

        Assert.False(IdentityAssertion.TryValidate(body + "." + tampered, Key, Now, out var identity, out var error));
        Assert.Null(identity);
        Assert.Equal("identity assertion signature is invalid", error);
    }

    [Fact]
    public void TruncatedSignatureIsRejected()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now, TimeSpan.FromMinutes(1));

        Assert.False(IdentityAssertion.TryValidate(assertion[..^4], Key, Now, out _, out var error));
        Assert.Equal("identity assertion signature is invalid", error);
    }

    [Fact]
    public void SignatureFromAnotherKeyIsRejected()
    {
        var otherKey = Encoding.UTF8.GetBytes("another-signing-key-0123456789-abcdefgh");
        var assertion = IdentityAssertion.Create(Alice, otherKey, Now, TimeSpan.FromMinutes(1));

        Assert.False(IdentityAssertion.TryValidate(assertion, Key, Now, out var identity, out var error));
        Assert.Null(identity);
        Assert.Equal("identity assertion signature is invalid", error);
    }

    [Fact]
    public void ExpiredAssertionIsRejected()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now, TimeSpan.FromSeconds(60));

        Assert.True(IdentityAssertion.TryValidate(assertion, Key, Now.AddSeconds(59), out _, out _));
        Assert.False(IdentityAssertion.TryValidate(assertion, Key, Now.AddSeconds(61), out var identity, out var error));
        Assert.Null(identity);
        Assert.Equal("identity assertion has expired", error);
    }

    [Fact]
    public void AssertionCreatedAlreadyExpiredIsRejected()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now.AddMinutes(-10), TimeSpan.FromMinutes(1));

        Assert.False(IdentityAssertion.TryValidate(assertion, Key, Now, out _, out var error));
        Assert.Equal("identity assertion has expired", error);
    }

    [Theory]
    [InlineData(null, "missing identity assertion")]
    [InlineData("", "missing identity assertion")]
    [InlineData("no-dot-at-all", "malformed identity assertion")]
    [InlineData(".signature-only", "malformed identity assertion")]
    [InlineData(".", "malformed identity assertion")]
    [InlineData("a.b.c", "malformed identity assertion")]
    [InlineData("body..signature", "malformed identity assertion")]
    [InlineData("body.signature.", "malformed identity assertion")]
    [InlineData("body.", "identity assertion signature is invalid")]
    [InlineData("body.!!!not-base64!!!", "identity assertion signature is invalid")]
    [InlineData("e30.AAAA", "identity assertion signature is invalid")]
    [InlineData(" ", "malformed identity assertion")]
    public void MalformedStringsAreRejected(string? assertion, string expectedError)
    {
        Assert.False(IdentityAssertion.TryValidate(assertion, Key, Now, out var identity, out var error));
        Assert.Null(identity);
        Assert.Equal(expectedError, error);
    }

    [Fact]
    public void ValidAssertionWithAnExtraDotSegmentIsRejected()
    {
        var assertion = IdentityAssertion.Create(Alice, Key, Now, TimeSpan.FromMinutes(1));

        Assert.False(IdentityAssertion.TryValidate(assertion + "." + Split(assertion).Signature, Key, Now, out _, out var error));
        Assert.Equal("malformed identity assertion", error);
        Assert.False(IdentityAssertion.TryValidate(assertion.Replace(".", "..", StringComparison.Ordinal), Key, Now, out _, out error));
        Assert.Equal("malformed identity assertion", error);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"kind\":\"user\",\"exp\":4102444800}")]
    [InlineData("{\"kind\":\"robot\",\"sub\":\"x\",\"exp\":4102444800}")]
    [InlineData("{\"kind\":\"user\",\"sub\":\"\",\"exp\":4102444800}")]
    [InlineData("{\"kind\":\"user\",\"sub\":\"x\",\"exp\":\"soon\"}")]
    public void CorrectlySignedButInvalidPayloadIsRejected(string json)
    {
        // Signed with the right key: only the payload checks stand between it and acceptance.
        var body = Base64Url(Encoding.UTF8.GetBytes(json));
        var assertion = body + "." + Base64Url(HMACSHA256.HashData(Key, Encoding.ASCII.GetBytes(body)));

        Assert.False(IdentityAssertion.TryValidate(assertion, Key, Now, out var identity, out var error));
        Assert.Null(identity);
        Assert.Equal("identity assertion payload is invalid", error);
    }

    [Fact]
    public void CorrectlySignedMinimalPayloadFallsBackToSubjectForName()
    {
        var body = Base64Url(Encoding.UTF8.GetBytes("{\"kind\":\"service\",\"sub\":\"monorepo\",\"exp\":4102444800}"));
        var assertion = body + "." + Base64Url(HMACSHA256.HashData(Key, Encoding.ASCII.GetBytes(body)));

        Assert.True(IdentityAssertion.TryValidate(assertion, Key, Now, out var identity, out _));
        Assert.Equal(CallerKind.Service, identity!.Kind);
        Assert.Equal("monorepo", identity.Subject);
        Assert.Equal("monorepo", identity.Name);
        Assert.Null(identity.TokenId);
        Assert.Empty(identity.Roles);
        Assert.Empty(identity.Scopes);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void MissingKeyIsRefused(string? configured)
    {
        var e = Assert.Throws<InvalidOperationException>(() => IdentityAssertion.KeyFromConfiguration(configured));
        Assert.Contains("Identity:SigningKey is not configured", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(31)]
    public void KeyShorterThan32BytesIsRefused(int length)
    {
        var e = Assert.Throws<InvalidOperationException>(() => IdentityAssertion.KeyFromConfiguration(new string('k', length)));
        Assert.Contains("at least 32 bytes", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void KeyOf32BytesOrMoreIsAccepted(int length)
    {
        var key = IdentityAssertion.KeyFromConfiguration(new string('k', length));
        Assert.Equal(length, key.Length);
    }

    [Fact]
    public void KeyLengthIsCountedInUtf8Bytes()
    {
        // 10 euro signs are 10 characters but 30 UTF-8 bytes; 11 are 33 bytes.
        Assert.Throws<InvalidOperationException>(() => IdentityAssertion.KeyFromConfiguration(new string('€', 10)));
        Assert.Equal(33, IdentityAssertion.KeyFromConfiguration(new string('€', 11)).Length);
    }

    private static (string Body, string Signature) Split(string assertion)
    {
        var dot = assertion.IndexOf('.', StringComparison.Ordinal);
        return (assertion[..dot], assertion[(dot + 1)..]);
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}
