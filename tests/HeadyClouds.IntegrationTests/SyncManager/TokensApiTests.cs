using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeadyClouds.Testing;
using HeadyClouds.ServiceDefaults.Identity;
using Npgsql;
using StackExchange.Redis;

namespace HeadyClouds.IntegrationTests.SyncManager;

public sealed class TokensApiTests(SyncManagerFixture fx) : IClassFixture<SyncManagerFixture>
{
    private const string Tokens = "/api/v1/tokens";

    private static readonly string[] Everyday = ["tokens:manage", "workspaces:read", "workspaces:write", "repos:read"];

    [Fact]
    public async Task CreatedTokenIsShownOnceAndOnlyItsHashIsStored()
    {
        var alice = await fx.CreateUserAsync(Everyday);

        var response = await fx.PostAsync(Tokens, alice, new { name = "laptop", expiresInDays = 30 });

        var created = await response.AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();
        var token = created.GetProperty("token").GetString()!;
        Assert.Equal($"/api/v1/tokens/{id}", response.Headers.Location?.OriginalString);
        Assert.StartsWith("hc_", token, StringComparison.Ordinal);
        Assert.Matches("^hc_[A-Za-z0-9_-]{43}$", token);
        Assert.Equal(token[..10], created.GetProperty("prefix").GetString());
        Assert.Equal(alice.Id(), created.GetProperty("userId").GetGuid());
        Assert.Equal(["repos:read", "workspaces:read", "workspaces:write"], Strings(created.GetProperty("scopes")));
        var expiresAt = created.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, DateTimeOffset.UtcNow.AddDays(30).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30).AddMinutes(5));

        // The row holds the SHA-256 of the token and its display prefix; the token itself appears nowhere in it.
        await using var db = await fx.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT hash, prefix, row_to_json(t)::text FROM api_tokens t WHERE id = @id", db);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(token)), (byte[])reader[0]);
        Assert.Equal(token[..10], reader.GetString(1));
        var row = reader.GetString(2);
        Assert.DoesNotContain(token, row, StringComparison.Ordinal);
        Assert.DoesNotContain(token[3..], row, StringComparison.Ordinal);
        Assert.DoesNotContain(token[10..30], row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListShowsTokensWithoutTheirSecret()
    {
        var alice = await fx.CreateUserAsync(Everyday);
        var first = await CreateTokenAsync(alice, "first");
        var second = await CreateTokenAsync(alice, "second", ["repos:read"]);

        var response = await fx.GetAsync(Tokens, alice);

        var text = await response.Content.ReadAsStringAsync();
        var list = await response.AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal([first.Id, second.Id], list.EnumerateArray().Select(t => t.GetProperty("id").GetGuid()));
        Assert.DoesNotContain(first.Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(second.Token, text, StringComparison.Ordinal);
        foreach (var item in list.EnumerateArray())
        {
            Assert.False(item.TryGetProperty("token", out _), item.ToString());
            Assert.False(item.TryGetProperty("hash", out _), item.ToString());
            Assert.True(item.GetProperty("active").GetBoolean());
            Assert.Equal(JsonValueKind.Null, item.GetProperty("revokedAt").ValueKind);
        }

        Assert.Equal(first.Token[..10], list[0].GetProperty("prefix").GetString());
        Assert.Equal(["repos:read"], Strings(list[1].GetProperty("scopes")));
    }

    [Fact]
    public async Task NonAdminCannotGrantScopesTheCallingTokenDoesNotHold()
    {
        var bob = await fx.CreateUserAsync(["tokens:manage", "repos:read"]);

        var response = await fx.PostAsync(Tokens, bob, new { name = "escalate", scopes = new[] { "repos:read", "repos:admin" } });

        var problem = await response.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("The calling token does not hold the scope(s) it tries to grant: repos:admin.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task DefaultScopesAreEscalationToo()
    {
        // Omitting scopes means the defaults (workspaces:read/write, repos:read): not held here.
        var bob = await fx.CreateUserAsync(["tokens:manage", "repos:read"]);

        var response = await fx.PostAsync(Tokens, bob, new { name = "defaults" });

        var problem = await response.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Contains("workspaces:read, workspaces:write", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonAdminMayHandOnAnySubsetOfItsScopes()
    {
        var bob = await fx.CreateUserAsync(["tokens:manage", "repos:read"]);

        var created = await (await fx.PostAsync(Tokens, bob, new { name = "narrow", scopes = new[] { "repos:read", "repos:read" } }))
            .AssertJsonAsync(HttpStatusCode.Created);

        Assert.Equal(["repos:read"], Strings(created.GetProperty("scopes")));
    }

    [Fact]
    public async Task AdminMayCreateATokenWithAnyScopeForAnotherUser()
    {
        var carol = await fx.CreateUserAsync(["tokens:manage"]);

        var created = await (await fx.PostAsync(Tokens, Callers.Admin(), new { name = "issued", scopes = new[] { "repos:admin" }, userId = carol.Id() }))
            .AssertJsonAsync(HttpStatusCode.Created);

        Assert.Equal(carol.Id(), created.GetProperty("userId").GetGuid());
        var list = await (await fx.GetAsync(Tokens, carol)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Contains(list.EnumerateArray(), t => t.GetProperty("id").GetGuid() == created.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task NonAdminCannotCreateOrListTokensOfAnotherUser()
    {
        var carol = await fx.CreateUserAsync(Everyday);
        var dave = await fx.CreateUserAsync(Everyday);

        var create = await fx.PostAsync(Tokens, dave, new { name = "for-carol", userId = carol.Id() });
        var problem = await create.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("Only an admin may create tokens for another user.", problem.GetProperty("detail").GetString());

        await (await fx.GetAsync($"{Tokens}?userId={carol.Id()}", dave)).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task TokenForAnUnknownUserIsNotFound()
    {
        var ghost = Guid.CreateVersion7();

        var problem = await (await fx.PostAsync(Tokens, Callers.Admin(), new { name = "ghost", userId = ghost })).AssertProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal($"User {ghost} was not found.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task WithoutTokensManageScopeTheApiIsForbidden()
    {
        var erin = await fx.CreateUserAsync(["workspaces:read", "workspaces:write", "repos:read"]);

        Assert.Equal(HttpStatusCode.Forbidden, (await fx.GetAsync(Tokens, erin)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.PostAsync(Tokens, erin, new { name = "x" })).StatusCode);
    }

    [Fact]
    public async Task InvalidRequestNamesEachBadField()
    {
        var alice = await fx.CreateUserAsync(Everyday);

        var response = await fx.PostAsync(Tokens, alice, new { name = " padded", scopes = new[] { "root" }, expiresInDays = 0 });

        await response.AssertValidationProblemAsync("name", "scopes", "expiresInDays");
    }

    [Fact]
    public async Task RevokingOwnTokenEvictsTheGatewaysCachedIntrospection()
    {
        var alice = await fx.CreateUserAsync(Everyday);
        var token = await CreateTokenAsync(alice, "to-revoke");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var cache = redis.GetDatabase();
        var key = TokenIntrospection.CacheKey(token.Token);
        Assert.True(await cache.StringSetAsync(key, "{\"active\":true}", TimeSpan.FromMinutes(5)));
        Assert.True(await cache.KeyExistsAsync(key));

        var response = await fx.SendAsync(HttpMethod.Delete, $"{Tokens}/{token.Id}", alice);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.False(await cache.KeyExistsAsync(key), "the revoke must delete the gateway's cached introspection answer");
        var listed = (await (await fx.GetAsync(Tokens, alice)).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray().Single(t => t.GetProperty("id").GetGuid() == token.Id);
        Assert.False(listed.GetProperty("active").GetBoolean());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("revokedAt").ValueKind);

        // Revoking again changes nothing and still answers 204.
        Assert.Equal(HttpStatusCode.NoContent, (await fx.SendAsync(HttpMethod.Delete, $"{Tokens}/{token.Id}", alice)).StatusCode);
        var introspection = await Introspect(token.Token);
        Assert.False(introspection.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task RevokingAnotherUsersTokenIsNotFoundAndLeavesItActive()
    {
        var alice = await fx.CreateUserAsync(Everyday);
        var mallory = await fx.CreateUserAsync(Everyday);
        var token = await CreateTokenAsync(alice, "alice-only");

        var problem = await (await fx.SendAsync(HttpMethod.Delete, $"{Tokens}/{token.Id}", mallory)).AssertProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal($"Token {token.Id} was not found.", problem.GetProperty("detail").GetString());
        Assert.True((await Introspect(token.Token)).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task RevokingAnUnknownTokenIsNotFound()
    {
        var alice = await fx.CreateUserAsync(Everyday);

        await (await fx.SendAsync(HttpMethod.Delete, $"{Tokens}/{Guid.CreateVersion7()}", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AdminMayRevokeAnotherUsersToken()
    {
        var alice = await fx.CreateUserAsync(Everyday);
        var token = await CreateTokenAsync(alice, "admin-revokes");

        Assert.Equal(HttpStatusCode.NoContent, (await fx.SendAsync(HttpMethod.Delete, $"{Tokens}/{token.Id}", Callers.Admin())).StatusCode);
        Assert.False((await Introspect(token.Token)).GetProperty("active").GetBoolean());
    }

    private async Task<(Guid Id, string Token)> CreateTokenAsync(CallerIdentity owner, string name, string[]? scopes = null)
    {
        var created = await (await fx.PostAsync(Tokens, owner, new { name, scopes })).AssertJsonAsync(HttpStatusCode.Created);
        return (created.GetProperty("id").GetGuid(), created.GetProperty("token").GetString()!);
    }

    private async Task<JsonElement> Introspect(string token) =>
        await (await fx.PostAsync(TokenIntrospection.Path, Callers.Gateway, new { token })).AssertJsonAsync(HttpStatusCode.OK);

    private static IEnumerable<string?> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString());
}
