using System.Net;

namespace HeadyClouds.IntegrationTests.Gateway;

public sealed class GatewayObservabilityTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task W3C_trace_context_continues_to_the_service()
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        using var client = gateway.Client(GatewayFixture.NewPeer(), token);
        var traceId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        client.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}-01");

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tokens")).StatusCode);

        var forwarded = gateway.LastUpstreamHeaders!.GetValues("traceparent").Single();
        Assert.Equal(traceId, forwarded.Split('-')[1]);
    }

    [Fact]
    public async Task The_access_log_records_each_request_but_never_the_token_or_the_query()
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        using var client = gateway.Client(GatewayFixture.NewPeer(), token);
        var marker = "secretname" + Guid.NewGuid().ToString("N");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/tokens?file={marker}")).StatusCode);
        using var bad = gateway.Client(GatewayFixture.NewPeer(), "hc_wrong" + marker);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bad.GetAsync("/api/v1/tokens")).StatusCode);

        var lines = gateway.GatewayLog.ToArray();
        Assert.Contains(lines, l => l.Contains("EdgeAccess", StringComparison.Ordinal) && l.Contains("GET /api/v1/tokens", StringComparison.Ordinal) && l.Contains("status=200", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("EdgeAccess", StringComparison.Ordinal) && l.Contains("status=401", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(marker, StringComparison.Ordinal));
    }
}

public sealed class GatewayWafTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Theory]
    [InlineData("/api/v1/tokens?name=%27%20OR%201%3D1--", "942130")]
    [InlineData("/api/v1/tokens?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "941110")]
    [InlineData("/api/v1/tokens/..%2f..%2fetc%2fpasswd", "930100")]
    public async Task An_attack_is_blocked_at_the_edge_with_403_and_never_reaches_a_service(string path, string ruleId)
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        using var client = gateway.Client(GatewayFixture.NewPeer(), token);
        var before = gateway.UpstreamRequests;

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains(ruleId, body, StringComparison.Ordinal);
        Assert.Contains("requestId", body, StringComparison.Ordinal);
        Assert.DoesNotContain("passwd", body, StringComparison.Ordinal);
        Assert.DoesNotContain("alert", body, StringComparison.Ordinal);
        Assert.Equal(before, gateway.UpstreamRequests);
    }

    [Theory]
    [InlineData("O'Brien's notes (final).docx")]
    [InlineData("report; draft [v2].pdf")]
    [InlineData("Ünïcödé 日本語 ファイル.txt")]
    [InlineData("emoji 🎉📁.png")]
    [InlineData("SELECT committee minutes.docx")]
    public async Task File_names_users_really_have_pass_the_edge(string name)
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        using var client = gateway.Client(GatewayFixture.NewPeer(), token);
        var response = await client.GetAsync("/api/v1/tokens?file=" + Uri.EscapeDataString(name));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
