using System.Net;
using System.Net.Http.Json;

namespace HeadyClouds.IntegrationTests.Gateway;

public sealed class GatewayRoutingTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Admin_quota_requests_go_to_HeadyMe_Sync(string method)
    {
        // The gateway only authenticates; HeadyMe.Sync enforces the admin role (its own tests cover that).
        using var client = gateway.Client(GatewayFixture.NewPeer(), await gateway.NewTokenAsync());
        var path = $"/api/v1/admin/quotas/{Guid.CreateVersion7()}";
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "PUT" ? JsonContent.Create(new { limitBytes = 1 }) : null };
        var before = gateway.UpstreamRequests;

        await client.SendAsync(request);

        Assert.Equal(before + 1, gateway.UpstreamRequests);
        Assert.Equal(new Uri("http://headyme.test" + path), gateway.LastUpstreamUri);
    }

    [Theory]
    [InlineData("POST", "/api/v1/admin/quotas/00000000-0000-0000-0000-000000000001", HttpStatusCode.MethodNotAllowed)]
    [InlineData("GET", "/api/v1/admin/quotas", HttpStatusCode.NotFound)]
    [InlineData("GET", "/api/v1/admin/jobs", HttpStatusCode.NotFound)]
    public async Task Other_admin_paths_are_not_routed(string method, string path, HttpStatusCode status)
    {
        using var client = gateway.Client(GatewayFixture.NewPeer(), await gateway.NewTokenAsync());
        var before = gateway.UpstreamRequests;

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(before, gateway.UpstreamRequests);
    }
}
