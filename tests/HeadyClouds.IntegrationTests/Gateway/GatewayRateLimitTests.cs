using System.Net;
using System.Net.Http.Json;

namespace HeadyClouds.IntegrationTests.Gateway;

/// <summary>The edge's limits, on two gateway replicas sharing the real Redis.</summary>
public sealed class GatewayRateLimitTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private static async Task<List<HttpStatusCode>> BurstAsync(HttpClient client, int count, string path = "/api/v1/tokens")
    {
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            codes.Add((await client.GetAsync(path)).StatusCode);
        }

        return codes;
    }

    [Fact]
    public async Task A_token_over_its_burst_gets_429_with_retry_after_while_another_token_is_unaffected()
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        var other = await gateway.NewTokenAsync("tokens:manage");
        using var client = gateway.Client(GatewayFixture.NewPeer(), token);

        var codes = await BurstAsync(client, GatewayFixture.TokenBurst);
        Assert.All(codes, c => Assert.Equal(HttpStatusCode.OK, c));

        var limited = await client.GetAsync("/api/v1/tokens");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);

        using var otherClient = gateway.Client(GatewayFixture.NewPeer(), other);
        Assert.Equal(HttpStatusCode.OK, (await otherClient.GetAsync("/api/v1/tokens")).StatusCode);
    }

    [Fact]
    public async Task The_token_bucket_holds_across_gateway_replicas()
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        using var viaA = gateway.Client(GatewayFixture.NewPeer(), token);
        using var viaB = gateway.Client(GatewayFixture.NewPeer(), token, replicaB: true);

        var first = await BurstAsync(viaA, 3);
        var second = await BurstAsync(viaB, GatewayFixture.TokenBurst - 3);
        Assert.All(first.Concat(second), c => Assert.Equal(HttpStatusCode.OK, c));

        // The burst is spent in total, whichever replica served it.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await viaB.GetAsync("/api/v1/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await viaA.GetAsync("/api/v1/tokens")).StatusCode);
    }

    [Fact]
    public async Task A_client_address_over_its_burst_gets_429_even_without_a_token()
    {
        using var anonymous = gateway.Client(GatewayFixture.NewPeer());
        var codes = await BurstAsync(anonymous, GatewayFixture.IpBurst);
        Assert.All(codes, c => Assert.Equal(HttpStatusCode.Unauthorized, c));
        var limited = await anonymous.GetAsync("/api/v1/tokens");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.Contains("Retry-After"));
    }

    [Fact]
    public async Task Repeated_failed_authentications_throttle_that_address_on_every_replica()
    {
        var peer = GatewayFixture.NewPeer();
        var valid = await gateway.NewTokenAsync("tokens:manage");
        for (var i = 0; i < GatewayFixture.FailedAuthLimit; i++)
        {
            using var guess = gateway.Client(peer, "hc_guess" + Guid.NewGuid().ToString("N"), replicaB: i % 2 == 1);
            Assert.Equal(HttpStatusCode.Unauthorized, (await guess.GetAsync("/api/v1/tokens")).StatusCode);
        }

        // Now even a valid token from that address is refused, on both replicas, without asking SyncManager.
        using var sameAddressA = gateway.Client(peer, valid);
        var refused = await sameAddressA.GetAsync("/api/v1/tokens");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) > 1);
        using var sameAddressB = gateway.Client(peer, valid, replicaB: true);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await sameAddressB.GetAsync("/api/v1/tokens")).StatusCode);

        // Another address with the same valid token is served.
        using var elsewhere = gateway.Client(GatewayFixture.NewPeer(), valid);
        Assert.Equal(HttpStatusCode.OK, (await elsewhere.GetAsync("/api/v1/tokens")).StatusCode);
    }

    [Fact]
    public async Task Unrouted_paths_and_refused_requests_never_reach_a_service()
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        using var client = gateway.Client(GatewayFixture.NewPeer(), token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tokens")).StatusCode);

        var before = gateway.UpstreamRequests;
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/internal/v1/tokens/introspect")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v2/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/health/../internal")).StatusCode);
        using var anonymous = gateway.Client(GatewayFixture.NewPeer());
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/tokens")).StatusCode);
        Assert.Equal(before, gateway.UpstreamRequests);
    }

    [Fact]
    public async Task The_forwarded_request_carries_the_gateway_identity_not_the_client_header_nor_the_token()
    {
        var token = await gateway.NewTokenAsync("tokens:manage");
        using var client = gateway.Client(GatewayFixture.NewPeer(), token);
        client.DefaultRequestHeaders.Add("X-Heady-Identity", "forged.forged");
        client.DefaultRequestHeaders.Add("x-heady-anything", "forged");
        // SyncManager would answer 401 to a forged assertion; 200 proves the gateway replaced it with its own.
        var mine = await client.GetFromJsonAsync<object[]>("/api/v1/tokens");
        Assert.Single(mine!);
    }
}
