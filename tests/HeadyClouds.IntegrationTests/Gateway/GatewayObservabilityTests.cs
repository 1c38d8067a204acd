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
