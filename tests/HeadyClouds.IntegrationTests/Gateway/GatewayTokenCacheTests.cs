using System.Net;
using Gateway.Yarp.Edge;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace HeadyClouds.IntegrationTests.Gateway;

/// <summary>
/// Introspection answers kept in each replica's memory (so an authenticated request costs no Redis round trip for its
/// token) must never outlive a revocation: SyncManager publishes the eviction and every replica drops it at once.
/// </summary>
public sealed class GatewayTokenCacheTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private static LocalIntrospectionCache Cache(IServiceProvider services) => services.GetRequiredService<LocalIntrospectionCache>();

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        // The cache subscribes in the background on first use; give it a moment (never a timing assertion on speed).
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        return condition();
    }

    private async Task WarmAsync(HttpClient client, LocalIntrospectionCache cache, string cacheKey)
    {
        Assert.True(await EventuallyAsync(() => cache.Enabled), "the replica never subscribed to token evictions");

        // An eviction of any token (other tests revoke theirs on the same Redis) while an answer is being fetched
        // rightly keeps that answer out of memory; the next request then stores it.
        var kept = false;
        for (var attempt = 0; attempt < 20 && !kept; attempt++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tokens")).StatusCode);
            kept = cache.TryGet(cacheKey, out var answer) && answer.Active;
        }

        Assert.True(kept, "the answer was never kept in memory");
    }

    [Fact]
    public async Task A_token_cached_in_memory_on_both_replicas_is_refused_by_both_right_after_revocation()
    {
        var (token, id) = await gateway.NewTokenWithIdAsync("tokens:manage");
        var cacheKey = TokenIntrospection.CacheKey(token);
        using var onA = gateway.Client(GatewayFixture.NewPeer(), token);
        using var onB = gateway.Client(GatewayFixture.NewPeer(), token, replicaB: true);
        await WarmAsync(onA, Cache(gateway.Services()), cacheKey);
        await WarmAsync(onB, Cache(gateway.Services(replicaB: true)), cacheKey);

        var revoked = await gateway.SyncManager.SendAsync(HttpMethod.Delete, $"/api/v1/tokens/{id}", Callers.Admin());
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);

        Assert.True(await EventuallyAsync(() => !Cache(gateway.Services()).TryGet(cacheKey, out _)), "replica A kept the revoked token");
        Assert.True(await EventuallyAsync(() => !Cache(gateway.Services(replicaB: true)).TryGet(cacheKey, out _)), "replica B kept the revoked token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await onA.GetAsync("/api/v1/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await onB.GetAsync("/api/v1/tokens")).StatusCode);
    }

    [Fact]
    public async Task An_answer_fetched_while_an_eviction_arrives_is_not_kept()
    {
        var cache = Cache(gateway.Services());
        Assert.True(await EventuallyAsync(() => cache.Enabled));
        var key = "heady:introspect:test-" + Callers.Unique();
        var answer = new IntrospectionResponse(true, Guid.NewGuid(), "x", ["user"], [], Guid.NewGuid(), null);

        var generation = cache.Generation;
        var redis = gateway.Services().GetRequiredService<IConnectionMultiplexer>();
        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(TokenIntrospection.EvictionChannel), "heady:introspect:some-other-token");
        Assert.True(await EventuallyAsync(() => cache.Generation != generation), "the eviction message never arrived");

        cache.Set(key, answer, TimeSpan.FromMinutes(1), generation);
        Assert.False(cache.TryGet(key, out _));

        // With an unchanged generation it is kept (retried: another test's revocation may bump it in between).
        var kept = false;
        for (var attempt = 0; attempt < 20 && !kept; attempt++)
        {
            cache.Set(key, answer, TimeSpan.FromMinutes(1), cache.Generation);
            kept = cache.TryGet(key, out _);
        }

        Assert.True(kept);
    }

    [Fact]
    public async Task Memory_entries_never_live_longer_than_the_local_limit_or_the_token()
    {
        var cache = Cache(gateway.Services());
        Assert.True(await EventuallyAsync(() => cache.Enabled));
        var key = "heady:introspect:test-" + Callers.Unique();
        cache.Set(key, new IntrospectionResponse(true, Guid.NewGuid()), TimeSpan.Zero, cache.Generation);
        Assert.False(cache.TryGet(key, out _));
    }
}
