using System.Net;
using System.Net.Http.Json;
using System.Text;
using HeadyClouds.ServiceDefaults.Identity;

namespace HeadyClouds.AppHost.Tests;

/// <summary>
/// mTLS inside the running stack (decision 0006, phase 2): the service ports require a certificate of the internal CA,
/// each endpoint group admits only the service it names, user identity counts only from the gateway, and the probe
/// port serves nothing but the health status.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class MeshEndToEndTests(StackFixture stack)
{
    [Fact]
    public async Task A_service_api_port_refuses_a_caller_without_a_client_certificate()
    {
        using var anonymous = stack.ServiceClient("monorepo-sync", presented: null);
        // TLS 1.3 reports the refused client certificate after the handshake: the request fails, no answer is read.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.GetAsync("/api/v1/repositories"));

        using var introspection = stack.ServiceClient("syncmanager", presented: null);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => introspection.PostAsJsonAsync(TokenIntrospection.Path, new { token = stack.AdminToken }));
    }

    [Fact]
    public async Task A_certified_service_with_the_wrong_identity_gets_403()
    {
        // HeadyMe.Sync's certificate on Monorepo.Sync's maintenance endpoint (SyncManager only) and on SyncManager's
        // introspection (gateway only).
        using var headyMe = await stack.EnrollAsync("headyme-sync");
        using var toMonorepo = stack.ServiceClient("monorepo-sync", headyMe);
        var sync = await toMonorepo.PostAsJsonAsync($"/internal/v1/repositories/{Guid.NewGuid()}/sync", new { });
        Assert.Equal(HttpStatusCode.Forbidden, sync.StatusCode);

        using var toSyncManager = stack.ServiceClient("syncmanager", headyMe);
        var introspect = await toSyncManager.PostAsJsonAsync(TokenIntrospection.Path, new { token = stack.AdminToken });
        Assert.Equal(HttpStatusCode.Forbidden, introspect.StatusCode);
        Assert.Equal("application/problem+json", introspect.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_named_caller_is_admitted_on_its_endpoint()
    {
        // The positive twin of the 403 above: the same call with SyncManager's identity reaches the endpoint (404: no such repository).
        using var syncManager = await stack.EnrollAsync("syncmanager");
        using var toMonorepo = stack.ServiceClient("monorepo-sync", syncManager);
        var sync = await toMonorepo.PostAsJsonAsync($"/internal/v1/repositories/{Guid.NewGuid()}/sync", new { });
        Assert.Equal(HttpStatusCode.NotFound, sync.StatusCode);
    }

    [Fact]
    public async Task Audit_ingest_takes_any_certified_service_and_records_the_certificate_identity()
    {
        using var headyMe = await stack.EnrollAsync("headyme-sync");
        using var toSyncManager = stack.ServiceClient("syncmanager", headyMe);
        var response = await toSyncManager.PostAsJsonAsync("/internal/v1/audit", new { actor = "e2e", eventType = "mesh.tested" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var entry = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal("headyme-sync", entry.GetProperty("service").GetString());
    }

    [Fact]
    public async Task A_membership_change_through_the_gateway_reaches_the_audit_chain_over_the_mesh()
    {
        using var admin = stack.Gateway(stack.AdminToken);
        var workspace = await (await admin.PostAsJsonAsync("/api/v1/workspaces", new { name = "audited" })).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var user = await (await admin.PostAsJsonAsync("/api/v1/users", new { username = "member" + Guid.NewGuid().ToString("N")[..8] })).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var workspaceId = workspace.GetProperty("id").GetString();
        var put = await admin.PutAsJsonAsync($"/api/v1/workspaces/{workspaceId}/members/{user.GetProperty("id").GetString()}", new { role = "viewer" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        // Read the chain as the gateway would forward an admin: the gateway's certificate plus a signed user assertion
        // (the accepted twin of the refused case below).
        using var gateway = await stack.EnrollAsync("gateway");
        using var toSyncManager = stack.ServiceClient("syncmanager", gateway);
        var reader = new CallerIdentity(CallerKind.User, Guid.NewGuid().ToString(), "auditor", ["admin"], []);
        // The event is sent in the background: wait for it (bounded), never for a fixed time.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var query = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/audit?service=headyme-sync&eventType=membership.changed&subject=workspace:{workspaceId}");
            query.Headers.Add(HeadyHeaders.Identity, IdentityAssertion.Create(reader, Encoding.UTF8.GetBytes(stack.IdentitySigningKey), DateTimeOffset.UtcNow, TimeSpan.FromSeconds(60)));
            var response = await toSyncManager.SendAsync(query, cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var entries = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement[]>(cts.Token);
            if (entries!.Length > 0)
            {
                Assert.Equal("headyme-sync", entries[0].GetProperty("service").GetString());
                return;
            }

            await Task.Delay(250, cts.Token);
        }
    }

    [Fact]
    public async Task A_validly_signed_user_identity_from_a_non_gateway_peer_is_refused()
    {
        var admin = new CallerIdentity(CallerKind.User, Guid.NewGuid().ToString(), "mallory", ["admin"], ["repositories:read", "workspaces:read"]);
        var assertion = IdentityAssertion.Create(admin, Encoding.UTF8.GetBytes(stack.IdentitySigningKey), DateTimeOffset.UtcNow, TimeSpan.FromSeconds(60));

        using var monorepo = await stack.EnrollAsync("monorepo-sync");
        using var toHeadyMe = stack.ServiceClient("headyme-sync", monorepo);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/workspaces");
        request.Headers.Add(HeadyHeaders.Identity, assertion);
        var response = await toHeadyMe.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        // A service assertion naming SyncManager does not make HeadyMe.Sync's peer SyncManager either.
        var forgedService = IdentityAssertion.Create(CallerIdentity.ForService("syncmanager"), Encoding.UTF8.GetBytes(stack.IdentitySigningKey), DateTimeOffset.UtcNow, TimeSpan.FromSeconds(60));
        using var toMaintenance = new HttpRequestMessage(HttpMethod.Post, "/internal/v1/maintenance") { Content = JsonContent.Create(new { }) };
        toMaintenance.Headers.Add(HeadyHeaders.Identity, forgedService);
        Assert.Equal(HttpStatusCode.Forbidden, (await toHeadyMe.SendAsync(toMaintenance)).StatusCode);
    }

    [Theory]
    [InlineData("headyme-sync")]
    [InlineData("monorepo-sync")]
    [InlineData("syncmanager")]
    [InlineData("certificate-authority")]
    public async Task The_probe_port_answers_health_and_nothing_else(string service)
    {
        using var probe = new HttpClient { BaseAddress = stack.App.GetEndpoint(service, "probe") };
        var health = await probe.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/alive")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await probe.GetAsync("/api/v1/workspaces")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await probe.PostAsJsonAsync("/internal/v1/maintenance", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await probe.GetAsync("/openapi/v1.json")).StatusCode);
    }
}
