using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace HeadyClouds.AppHost.Tests;

/// <summary>The stack as a user meets it: through the gateway only, with real PostgreSQL, Redis and S3 behind it.</summary>
[Collection(StackCollection.Name)]
public sealed class GatewayEndToEndTests(StackFixture stack)
{
    private static readonly string[] WorkspaceScopes = ["workspaces:read", "workspaces:write"];

    private sealed record UserDto(Guid Id, string Username, string Role);

    private sealed record TokenDto(Guid Id, Guid UserId, string Token, string[] Scopes);

    private sealed record WorkspaceDto(Guid Id, string Name, Guid OwnerId, string Role);

    private async Task<(UserDto User, TokenDto Token)> CreateUserWithTokenAsync(string username, string[] scopes)
    {
        using var admin = stack.Gateway(stack.AdminToken);
        var userResponse = await admin.PostAsJsonAsync("/api/v1/users", new { username });
        Assert.Equal(HttpStatusCode.Created, userResponse.StatusCode);
        var user = (await userResponse.Content.ReadFromJsonAsync<UserDto>())!;

        var tokenResponse = await admin.PostAsJsonAsync("/api/v1/tokens", new { name = "e2e", userId = user.Id, scopes });
        Assert.Equal(HttpStatusCode.Created, tokenResponse.StatusCode);
        return (user, (await tokenResponse.Content.ReadFromJsonAsync<TokenDto>())!);
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task User_with_token_creates_a_workspace_and_lists_it_back_and_nobody_else_sees_it()
    {
        var (alice, aliceToken) = await CreateUserWithTokenAsync(Unique("alice"), WorkspaceScopes);
        var (_, bobToken) = await CreateUserWithTokenAsync(Unique("bob"), WorkspaceScopes);
        Assert.StartsWith("hc_", aliceToken.Token, StringComparison.Ordinal);

        using var aliceClient = stack.Gateway(aliceToken.Token);
        var created = await aliceClient.PostAsJsonAsync("/api/v1/workspaces", new { name = "Holiday photos" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var workspace = (await created.Content.ReadFromJsonAsync<WorkspaceDto>())!;
        Assert.Equal(alice.Id, workspace.OwnerId);

        var listed = await aliceClient.GetFromJsonAsync<WorkspaceDto[]>("/api/v1/workspaces");
        Assert.Contains(listed!, w => w.Id == workspace.Id && w.Role == "owner" && w.Name == "Holiday photos");

        using var bobClient = stack.Gateway(bobToken.Token);
        var foreign = await bobClient.GetAsync($"/api/v1/workspaces/{workspace.Id}");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal("application/problem+json", foreign.Content.Headers.ContentType?.MediaType);
        var bobs = await bobClient.GetFromJsonAsync<WorkspaceDto[]>("/api/v1/workspaces");
        Assert.DoesNotContain(bobs!, w => w.Id == workspace.Id);
    }

    [Fact]
    public async Task Requests_without_a_valid_token_get_401_with_a_bearer_challenge()
    {
        using var anonymous = stack.Gateway();
        var none = await anonymous.GetAsync("/api/v1/workspaces");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("Bearer", none.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);

        using var random = stack.Gateway("hc_" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await random.GetAsync("/api/v1/workspaces")).StatusCode);

        using var garbage = stack.Gateway("not a token at all");
        Assert.Equal(HttpStatusCode.Unauthorized, (await garbage.GetAsync("/api/v1/workspaces")).StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_stops_working_at_once()
    {
        var (_, token) = await CreateUserWithTokenAsync(Unique("carol"), WorkspaceScopes);
        using var carol = stack.Gateway(token.Token);
        Assert.Equal(HttpStatusCode.OK, (await carol.GetAsync("/api/v1/workspaces")).StatusCode); // now cached as active

        using var admin = stack.Gateway(stack.AdminToken);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/tokens/{token.Id}")).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await carol.GetAsync("/api/v1/workspaces")).StatusCode);
    }

    [Fact]
    public async Task Identity_headers_sent_by_a_client_are_never_trusted()
    {
        var (_, token) = await CreateUserWithTokenAsync(Unique("dave"), WorkspaceScopes);

        // Without a token, a forged identity header does not authenticate anyone.
        using var forged = stack.Gateway();
        forged.DefaultRequestHeaders.Add("X-Heady-Identity", "eyJraW5kIjoidXNlciJ9.AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/v1/users")).StatusCode);

        // With a user's token, the forged header is dropped and the request runs as that (non-admin) user.
        using var dave = stack.Gateway(token.Token);
        dave.DefaultRequestHeaders.Add("X-Heady-Identity", "eyJraW5kIjoidXNlciJ9.AAAA");
        var listUsers = await dave.GetAsync("/api/v1/users");
        Assert.Equal(HttpStatusCode.Forbidden, listUsers.StatusCode);
    }

    [Fact]
    public async Task Unrouted_and_internal_paths_are_404_at_the_edge()
    {
        using var admin = stack.Gateway(stack.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v2/workspaces")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync("/internal/v1/tokens/introspect", new { token = stack.AdminToken })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/openapi/v1.json")).StatusCode);
        // A method the route does not allow is refused at the edge.
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.DeleteAsync("/api/v1/workspaces")).StatusCode);
    }

    [Fact]
    public async Task Client_mistakes_get_4xx_problem_details_never_500()
    {
        using var admin = stack.Gateway(stack.AdminToken);

        var badJson = await admin.PostAsync("/api/v1/users", new StringContent("{\"username\": ", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Equal("application/problem+json", badJson.Content.Headers.ContentType?.MediaType);

        var invalid = await admin.PostAsJsonAsync("/api/v1/users", new { username = "NO SPACES" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using var problem = JsonDocument.Parse(await invalid.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("username", out _));

        var name = Unique("erin");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/users", new { username = name })).StatusCode);
        var duplicate = await admin.PostAsJsonAsync("/api/v1/users", new { username = name });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Contains(name, await duplicate.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var tooLarge = await admin.PostAsync("/api/v1/workspaces", new StringContent(
            "{\"name\":\"" + new string('x', 70_000) + "\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
    }

    [Fact]
    public async Task Repositories_are_registered_and_listed_through_the_gateway()
    {
        using var admin = stack.Gateway(stack.AdminToken);
        var name = Unique("mono");
        var created = await admin.PostAsJsonAsync("/api/v1/repositories", new { name, sourceUrl = "https://git.example.org/acme/mono.git", defaultBranch = "main" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var listed = await admin.GetStringAsync("/api/v1/repositories");
        Assert.Contains(name, listed, StringComparison.Ordinal);

        var local = await admin.PostAsJsonAsync("/api/v1/repositories", new { name = Unique("evil"), sourceUrl = "file:///etc" });
        Assert.Equal(HttpStatusCode.BadRequest, local.StatusCode);
    }

    [Fact]
    public async Task Source_webhooks_reach_the_service_without_a_token_and_only_a_valid_signature_is_accepted()
    {
        using var admin = stack.Gateway(stack.AdminToken);
        var created = await admin.PostAsJsonAsync("/api/v1/repositories", new { name = Unique("hooked"), sourceUrl = "https://git.example.org/acme/hooked.git" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var repo = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var secret = repo.RootElement.GetProperty("webhookSecret").GetString()!;
        var path = repo.RootElement.GetProperty("webhookPath").GetString()!;
        var body = "{\"ref\":\"refs/heads/main\"}"u8.ToArray();

        using var anonymous = stack.Gateway();
        using var unsigned = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(unsigned)).StatusCode);

        using var signed = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        signed.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(
            System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), body)));
        Assert.Equal(HttpStatusCode.Accepted, (await anonymous.SendAsync(signed)).StatusCode);

        // The unauthenticated route is only the hook: the repository API still needs a token.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/repositories")).StatusCode);
    }

    [Fact]
    public async Task Edge_responses_carry_no_server_banner()
    {
        using var anonymous = stack.Gateway();
        var response = await anonymous.GetAsync("/api/v1/workspaces");
        Assert.False(response.Headers.Contains("Server"));
    }
}
