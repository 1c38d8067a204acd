using System.Collections.Concurrent;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Yarp.Edge;

/// <summary>
/// Introspection answers kept in this replica's memory, in front of the Redis cache: an authenticated request then
/// costs no Redis round trip for its token. Revocation stays immediate because SyncManager publishes the revoked
/// token's cache key on <see cref="TokenIntrospection.EvictionChannel"/> and every replica drops it. The cache is only
/// used while that subscription is believed healthy: when the Redis connection fails or is restored (messages may
/// have been missed) everything is forgotten, and answers fetched while an eviction arrived are not kept
/// (a generation counter), so a revoked token is never revived by a race. If an eviction is lost anyway, an entry
/// lives at most <see cref="EdgeOptions.LocalTokenCacheSeconds"/>.
/// </summary>
public sealed class LocalIntrospectionCache : IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly IConnectionMultiplexer redis;
    private readonly IOptions<EdgeOptions> options;
    private readonly TimeProvider time;
    private readonly ILogger<LocalIntrospectionCache> logger;
    private readonly RedisChannel channel = RedisChannel.Literal(TokenIntrospection.EvictionChannel);
    private long generation;
    private volatile bool subscribed;
    private long nextSubscribeAttempt;

    public LocalIntrospectionCache(IConnectionMultiplexer redis, IOptions<EdgeOptions> options, TimeProvider time, ILogger<LocalIntrospectionCache> logger)
    {
        this.redis = redis;
        this.options = options;
        this.time = time;
        this.logger = logger;
        redis.ConnectionFailed += OnConnectionChanged;
        redis.ConnectionRestored += OnConnectionChanged;
    }

    /// <summary>Read before looking an answer up elsewhere; pass it to <see cref="Set"/>.</summary>
    public long Generation => Interlocked.Read(ref generation);

    public int Count => entries.Count;

    /// <summary>True when answers may be served from memory (the eviction channel is being listened to).</summary>
    public bool Enabled => options.Value.LocalTokenCacheSeconds > 0 && EnsureSubscribed();

    public bool TryGet(string cacheKey, out IntrospectionResponse answer)
    {
        answer = IntrospectionResponse.Inactive;
        if (!Enabled || !entries.TryGetValue(cacheKey, out var entry))
        {
            return false;
        }

        if (entry.ExpiresAt <= time.GetUtcNow())
        {
            entries.TryRemove(KeyValuePair.Create(cacheKey, entry));
            return false;
        }

        answer = entry.Answer;
        return true;
    }

    public void Set(string cacheKey, IntrospectionResponse answer, TimeSpan ttl, long generationAtLookup)
    {
        if (!Enabled || generationAtLookup != Generation)
        {
            return;
        }

        var local = TimeSpan.FromSeconds(options.Value.LocalTokenCacheSeconds);
        if (ttl > local)
        {
            ttl = local;
        }

        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        // Bounded: a flood of random tokens (cached as inactive) must not grow memory without limit.
        if (entries.Count >= options.Value.LocalTokenCacheMaxEntries)
        {
            entries.Clear();
        }

        entries[cacheKey] = new Entry(answer, time.GetUtcNow() + ttl);

        // An eviction that raced with this insert: drop what was just stored.
        if (generationAtLookup != Generation)
        {
            entries.TryRemove(cacheKey, out _);
        }
    }

    public void Evict(string cacheKey)
    {
        Interlocked.Increment(ref generation);
        entries.TryRemove(cacheKey, out _);
    }

    public void Dispose()
    {
        redis.ConnectionFailed -= OnConnectionChanged;
        redis.ConnectionRestored -= OnConnectionChanged;
    }

    private void OnConnectionChanged(object? sender, ConnectionFailedEventArgs e)
    {
        // Evictions published while the connection was down are lost: forget everything.
        Interlocked.Increment(ref generation);
        entries.Clear();
    }

    private bool EnsureSubscribed()
    {
        if (subscribed)
        {
            return redis.IsConnected;
        }

        var now = Environment.TickCount64;
        var next = Interlocked.Read(ref nextSubscribeAttempt);
        if (now < next || Interlocked.CompareExchange(ref nextSubscribeAttempt, now + 5_000, next) != next)
        {
            return false;
        }

        _ = SubscribeAsync();
        return false;
    }

    private async Task SubscribeAsync()
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(channel, (_, message) =>
            {
                if (!message.IsNullOrEmpty)
                {
                    Evict(message!);
                }
            });
            Interlocked.Increment(ref generation);
            entries.Clear();
            subscribed = true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            logger.LogWarning(e, "Cannot subscribe to token evictions; introspection answers are not kept in memory until it works");
        }
    }

    private sealed record Entry(IntrospectionResponse Answer, DateTimeOffset ExpiresAt);
}
