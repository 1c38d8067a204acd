using System.Net;
using System.Security.Authentication;

namespace HeadyClouds.AppHost.Tests;

/// <summary>The public edge's transport promises, checked on the running stack.</summary>
[Collection(StackCollection.Name)]
public sealed class EdgeTlsTests(StackFixture stack)
{
    [Fact]
    public async Task Tls13_client_is_served_with_hsts_and_security_headers()
    {
        using var client = stack.Gateway(protocols: SslProtocols.Tls13);
        var response = await client.GetAsync("/api/v1/workspaces");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("max-age=63072000; includeSubDomains", response.Headers.GetValues("Strict-Transport-Security").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task Tls12_client_is_refused()
    {
        using var client = stack.Gateway(protocols: SslProtocols.Tls12);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/api/v1/workspaces"));
        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_certificate_fails_the_handshake()
    {
        // The development certificate is in no trust store: default validation must refuse it.
        using var client = new HttpClient { BaseAddress = stack.GatewayHttps };
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/health"));
    }

    [Theory]
    [InlineData("GET", "/api/v1/workspaces?x=1")]
    [InlineData("POST", "/api/v1/users")]
    [InlineData("GET", "/health")]
    public async Task Plain_http_only_redirects_308_to_https(string method, string pathAndQuery)
    {
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = stack.GatewayHttp };
        using var request = new HttpRequestMessage(new HttpMethod(method), pathAndQuery);
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PermanentRedirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.Equal("https", location.Scheme);
        Assert.Equal(stack.GatewayHttps.Port, location.Port);
        Assert.Equal(pathAndQuery, location.PathAndQuery);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task Upstream_answers_carry_no_server_banner()
    {
        using var admin = stack.Gateway(stack.AdminToken);
        var response = await admin.GetAsync("/api/v1/users/me");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Server"));
        Assert.True(response.Headers.Contains("Strict-Transport-Security"));
    }
}
