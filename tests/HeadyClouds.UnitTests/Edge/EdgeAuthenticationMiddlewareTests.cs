using Gateway.Yarp.Edge;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace HeadyClouds.UnitTests.Edge;

public sealed class EdgeAuthenticationMiddlewareTests
{
    [Theory]
    [InlineData("Bearer hc_abc", "hc_abc")]
    [InlineData("bearer hc_abc", "hc_abc")]
    [InlineData("BEARER hc_abc", "hc_abc")]
    [InlineData("Bearer    hc_abc   ", "hc_abc")]
    public void BearerTokenIsRead(string header, string expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = header;

        Assert.Equal(expected, EdgeAuthenticationMiddleware.BearerToken(context.Request));
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer     ")]
    [InlineData("Bearerhc_abc")]
    [InlineData("Token hc_abc")]
    [InlineData("hc_abc")]
    [InlineData("")]
    public void OtherAuthorizationValuesGiveNoToken(string header)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = header;

        Assert.Null(EdgeAuthenticationMiddleware.BearerToken(context.Request));
    }

    [Fact]
    public void NoAuthorizationHeaderGivesNoToken() => Assert.Null(EdgeAuthenticationMiddleware.BearerToken(new DefaultHttpContext().Request));

    [Fact]
    public void TwoAuthorizationHeadersGiveNoToken()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = new StringValues(["Bearer one-token", "Bearer two-token"]);

        Assert.Null(EdgeAuthenticationMiddleware.BearerToken(context.Request));
    }

    [Fact]
    public void TokensUpTo512CharactersAreRead()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = "Bearer " + new string('t', 512);
        Assert.Equal(512, EdgeAuthenticationMiddleware.BearerToken(context.Request)!.Length);

        context.Request.Headers.Authorization = "Bearer " + new string('t', 513);
        Assert.Null(EdgeAuthenticationMiddleware.BearerToken(context.Request));
    }

    [Fact]
    public void ReservedHeadersAreStrippedWhateverTheirCase()
    {
        var headers = new DefaultHttpContext().Request.Headers;
        headers[HeadyHeaders.Identity] = "forged.assertion";
        headers["x-heady-identity-extra"] = "x";
        headers["X-HEADY-USER"] = "admin";
        headers["x-Heady-Anything"] = "y";
        headers.Authorization = "Bearer hc_abc";
        headers["X-Request-Id"] = "req-1";
        headers["X-Headyness"] = "not reserved: no dash after the prefix";
        headers.ContentType = "application/json";

        EdgeAuthenticationMiddleware.StripReservedHeaders(headers);

        Assert.False(headers.ContainsKey(HeadyHeaders.Identity));
        Assert.DoesNotContain(headers.Keys, k => k.StartsWith("X-Heady-", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("Bearer hc_abc", headers.Authorization.ToString());
        Assert.Equal("req-1", headers["X-Request-Id"].ToString());
        Assert.Equal("not reserved: no dash after the prefix", headers["X-Headyness"].ToString());
        Assert.Equal("application/json", headers.ContentType.ToString());
    }

    [Fact]
    public void StrippingWithoutReservedHeadersChangesNothing()
    {
        var headers = new DefaultHttpContext().Request.Headers;
        headers["Accept"] = "application/json";

        EdgeAuthenticationMiddleware.StripReservedHeaders(headers);

        Assert.Single(headers);
        Assert.Equal("application/json", headers.Accept.ToString());
    }

    [Fact]
    public void MultipleValuesOfTheIdentityHeaderAreAllStripped()
    {
        var headers = new DefaultHttpContext().Request.Headers;
        headers[HeadyHeaders.Identity] = new StringValues(["one", "two"]);

        EdgeAuthenticationMiddleware.StripReservedHeaders(headers);

        Assert.Empty(headers);
    }
}
