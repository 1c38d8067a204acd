using System.Net;
using HeadyClouds.Testing;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SyncManager.Domain;
using SyncManager.Infrastructure;

namespace HeadyClouds.IntegrationTests.SyncManager;

/// <summary>The migration step's seed, run against the real database as the migration run would.</summary>
public sealed class AdminBootstrapTests(SyncManagerFixture fx) : IClassFixture<SyncManagerFixture>
{
    [Fact]
    public async Task SeedsTheAdminAndItsTokenIdempotently()
    {
        var username = "boot-" + Callers.Unique();
        var token = TokenSecrets.Generate();

        await SeedAsync(username, token);
        var (adminId, tokens) = await ReadAdminAsync(username);
        var bootstrap = Assert.Single(tokens);
        Assert.Equal(AdminBootstrap.TokenName, bootstrap.Name);
        Assert.Equal(TokenSecrets.Hash(token), bootstrap.Hash);
        Assert.Equal(TokenScopes.All.Order(StringComparer.Ordinal), bootstrap.Scopes.Order(StringComparer.Ordinal));
        Assert.Null(bootstrap.RevokedAt);

        // Once more with the same token: nothing changes.
        await SeedAsync(username, token);
        var (againId, again) = await ReadAdminAsync(username);
        Assert.Equal(adminId, againId);
        Assert.Equal(bootstrap.Id, Assert.Single(again).Id);
        Assert.Null(again[0].RevokedAt);

        // The gateway would now let the token in as an admin with every scope.
        var answer = await (await fx.PostAsync(TokenIntrospection.Path, Callers.Gateway, new { token })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(answer.GetProperty("active").GetBoolean());
        Assert.Equal(username, answer.GetProperty("username").GetString());
        Assert.Equal(["admin"], answer.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task ChangedBootstrapTokenRevokesTheOldOne()
    {
        var username = "boot-" + Callers.Unique();
        var oldToken = TokenSecrets.Generate();
        var newToken = TokenSecrets.Generate();
        await SeedAsync(username, oldToken);

        await SeedAsync(username, newToken);

        var (_, tokens) = await ReadAdminAsync(username);
        Assert.Equal(2, tokens.Count);
        Assert.NotNull(tokens.Single(t => t.Hash.SequenceEqual(TokenSecrets.Hash(oldToken))).RevokedAt);
        Assert.Null(tokens.Single(t => t.Hash.SequenceEqual(TokenSecrets.Hash(newToken))).RevokedAt);
        Assert.False(await IsActiveAsync(oldToken));
        Assert.True(await IsActiveAsync(newToken));

        // Going back to the revoked token is refused rather than silently reviving it.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => SeedAsync(username, oldToken));
        Assert.Contains("was revoked", e.Message, StringComparison.Ordinal);
        Assert.False(await IsActiveAsync(oldToken));
        Assert.True(await IsActiveAsync(newToken));
    }

    [Fact]
    public async Task ExistingUserOfThatNameBecomesAdmin()
    {
        var username = "promote-" + Callers.Unique();
        await (await fx.PostAsync("/api/v1/users", Callers.Admin(), new { username, role = "user" })).AssertStatusAsync(HttpStatusCode.Created);

        await SeedAsync(username.ToUpperInvariant(), TokenSecrets.Generate());

        var role = await fx.WithDbAsync(db => db.Users.Where(u => u.Username == username).Select(u => u.Role).SingleAsync());
        Assert.Equal(Roles.Admin, role);
    }

    [Fact]
    public async Task NoTokenConfiguredSeedsNothing()
    {
        var username = "none-" + Callers.Unique();

        await SeedAsync(username, null);

        Assert.False(await fx.WithDbAsync(db => db.Users.AnyAsync(u => u.Username == username)));
    }

    [Theory]
    [InlineData("too-short-for-an-admin-token")]
    [InlineData("a token with spaces that is long enough to pass the length check")]
    public async Task ImplausibleTokenIsRefused(string token)
    {
        var username = "bad-" + Callers.Unique();

        await Assert.ThrowsAsync<InvalidOperationException>(() => SeedAsync(username, token));

        Assert.False(await fx.WithDbAsync(db => db.Users.AnyAsync(u => u.Username == username)));
    }

    private async Task SeedAsync(string username, string? token)
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddSingleton(Options.Create(new BootstrapOptions { AdminToken = token, AdminUsername = username }))
            .BuildServiceProvider();
        await using (services)
        {
            await fx.WithDbAsync(async db =>
            {
                await AdminBootstrap.SeedAsync(services, db, CancellationToken.None);
                return 0;
            });
        }
    }

    private Task<(Guid Id, List<ApiToken> Tokens)> ReadAdminAsync(string username) =>
        fx.WithDbAsync(async db =>
        {
            var user = await db.Users.AsNoTracking().Include(u => u.Tokens).SingleAsync(u => u.Username == username);
            Assert.Equal(Roles.Admin, user.Role);
            return (user.Id, user.Tokens.OrderBy(t => t.CreatedAt).ToList());
        });

    private async Task<bool> IsActiveAsync(string token) =>
        (await (await fx.PostAsync(TokenIntrospection.Path, Callers.Gateway, new { token })).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("active").GetBoolean();
}
