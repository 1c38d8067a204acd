using System.Net;
using System.Text.Json;
using HeadyClouds.Testing;
using HeadyClouds.ServiceDefaults.Identity;
using SyncManager.Domain;

namespace HeadyClouds.IntegrationTests.SyncManager;

public sealed class IntrospectionApiTests(SyncManagerFixture fx) : IClassFixture<SyncManagerFixture>
{
    private static readonly string[] Scopes = ["tokens:manage", "repos:read", "workspaces:read"];

    [Fact]
    public async Task ActiveTokenIsActiveWithItsUserAndScopes()
    {
        var alice = await fx.CreateUserAsync(Scopes);
        var (id, token) = await CreateTokenAsync(alice, ["repos:read", "workspaces:read"], expiresInDays: 7);

        var answer = await IntrospectAsync(token);

        Assert.True(answer.GetProperty("active").GetBoolean());
        Assert.Equal(alice.Id(), answer.GetProperty("userId").GetGuid());
        Assert.Equal(alice.Name, answer.GetProperty("username").GetString());
        Assert.Equal(["user"], answer.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["repos:read", "workspaces:read"], answer.GetProperty("scopes").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(id, answer.GetProperty("tokenId").GetGuid());
        Assert.True(answer.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(6));
    }

    [Fact]
    public async Task AdminRoleIsReported()
    {
        var root = await fx.CreateUserAsync(Scopes, role: "admin");
        var (_, token) = await CreateTokenAsync(root, ["repos:read"]);

        var answer = await IntrospectAsync(token);

        Assert.Equal(["admin"], answer.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("expiresAt").ValueKind);
    }

    [Fact]
    public async Task RevokedTokenIsInactive()
    {
        var alice = await fx.CreateUserAsync(Scopes);
        var (id, token) = await CreateTokenAsync(alice, ["repos:read"]);
        Assert.True((await IntrospectAsync(token)).GetProperty("active").GetBoolean());

        Assert.Equal(HttpStatusCode.NoContent, (await fx.SendAsync(HttpMethod.Delete, $"/api/v1/tokens/{id}", alice)).StatusCode);

        AssertInactive(await IntrospectAsync(token));
    }

    [Fact]
    public async Task ExpiredTokenIsInactive()
    {
        var alice = await fx.CreateUserAsync(Scopes);
        var token = TokenSecrets.Generate();
        await fx.WithDbAsync(async db =>
        {
            db.ApiTokens.Add(new ApiToken
            {
                Id = Guid.CreateVersion7(),
                UserId = alice.Id(),
                Name = "expired",
                Prefix = TokenSecrets.DisplayPrefix(token),
                Hash = TokenSecrets.Hash(token),
                Scopes = ["repos:read"],
                CreatedAt = DateTimeOffset.UtcNow.AddDays(-2),
                ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1),
            });
            return await db.SaveChangesAsync();
        });

        AssertInactive(await IntrospectAsync(token));
    }

    [Theory]
    [InlineData("hc_thisTokenWasNeverIssuedByAnyoneAtAll0123456789")]
    [InlineData("short")]
    [InlineData("")]
    [InlineData("hc_with spaces in it")]
    public async Task UnknownOrMalformedTokenIsInactive(string token) => AssertInactive(await IntrospectAsync(token));

    [Fact]
    public async Task RandomTokenIsInactive() => AssertInactive(await IntrospectAsync(TokenSecrets.Generate()));

    [Fact]
    public async Task UserIdentityIsForbidden()
    {
        var admin = await fx.CreateUserAsync(Scopes, role: "admin");
        var (_, token) = await CreateTokenAsync(admin, ["repos:read"]);

        var response = await fx.PostAsync(TokenIntrospection.Path, admin, new { token });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task AnotherServiceIsForbidden()
    {
        var response = await fx.PostAsync(TokenIntrospection.Path, CallerIdentity.ForService("headyme"), new { token = TokenSecrets.Generate() });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task NoIdentityIsUnauthorized()
    {
        var response = await fx.PostAsync(TokenIntrospection.Path, caller: null, new { token = TokenSecrets.Generate() });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private async Task<(Guid Id, string Token)> CreateTokenAsync(CallerIdentity owner, string[] scopes, int? expiresInDays = null)
    {
        var created = await (await fx.PostAsync("/api/v1/tokens", owner, new { name = "t-" + Callers.Unique(), scopes, expiresInDays }))
            .AssertJsonAsync(HttpStatusCode.Created);
        return (created.GetProperty("id").GetGuid(), created.GetProperty("token").GetString()!);
    }

    private async Task<JsonElement> IntrospectAsync(string token) =>
        await (await fx.PostAsync(TokenIntrospection.Path, Callers.Gateway, new { token })).AssertJsonAsync(HttpStatusCode.OK);

    private static void AssertInactive(JsonElement answer)
    {
        Assert.False(answer.GetProperty("active").GetBoolean());
        foreach (var property in new[] { "userId", "username", "roles", "scopes", "tokenId" })
        {
            Assert.True(!answer.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null, $"{property} leaked: {answer}");
        }
    }
}
