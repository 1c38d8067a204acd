using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace Gateway.Yarp.RateLimiting;

/// <summary>One GCRA bucket: <paramref name="Burst"/> requests at once, refilled at <paramref name="PerMinute"/>.</summary>
public sealed record GcraBucket(string Key, int PerMinute, int Burst)
{
    public long EmissionIntervalMicros => 60_000_000L / Math.Max(1, PerMinute);

    public long ToleranceMicros => EmissionIntervalMicros * Math.Max(0, Burst - 1);
}

/// <summary>
/// Brute-force guard checked in the same Redis round trip as the buckets: when <paramref name="Key"/> (the failed
/// authentications counted for the client's address by <see cref="FailedAuthenticationThrottle"/>) has reached
/// <paramref name="Limit"/>, the request is refused until that counter's window ends.
/// </summary>
public sealed record FailedAuthenticationGuard(string Key, int Limit);

/// <summary>
/// A token-bucket limiter whose state lives in Redis, so the limit holds across all gateway replicas. It uses the
/// generic cell rate algorithm (one timestamp per bucket, no background refill) and checks every bucket of a request
/// (per token and per IP) and the failed-authentication guard in one atomic script using Redis's own clock, so
/// replicas with skewed clocks agree and a request costs one round trip.
/// <see cref="AttemptAcquireCore"/> does no I/O and never grants: ASP.NET's middleware then calls
/// <see cref="AcquireAsyncCore"/>, which asks Redis once. If Redis is unreachable the request is let through
/// (failing open keeps the platform up; the failure is logged).
/// </summary>
public sealed class RedisGcraRateLimiter(IConnectionMultiplexer redis, IReadOnlyList<GcraBucket> buckets, FailedAuthenticationGuard? guard, ILogger logger) : RateLimiter
{
    /// <summary>Lease metadata naming why a request was refused: <see cref="RateReason"/> or <see cref="FailedAuthenticationReason"/>.</summary>
    public const string ReasonMetadata = "HEADY_REASON";
    public const string RateReason = "rate";
    public const string FailedAuthenticationReason = "failed-auth";

    // KEYS: the bucket keys, then (optionally) the failed-authentication counter.
    // ARGV[1]: number of buckets; then per bucket its emission interval and tolerance (microseconds); then the guard's limit.
    // Returns 0 when granted, a positive number of microseconds to wait when over a bucket, or minus the milliseconds
    // left in the failed-authentication window when the address is throttled (no bucket is charged then).
    private const string Script = """
        local n = tonumber(ARGV[1])
        if #KEYS > n then
          local fails = tonumber(redis.call('GET', KEYS[n + 1]) or '0')
          if fails >= tonumber(ARGV[2 * n + 2]) then
            local ttl = redis.call('PTTL', KEYS[n + 1])
            if ttl < 1000 then ttl = 1000 end
            return -ttl
          end
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local wait = 0
        local tats = {}
        for i = 1, n do
          local interval = tonumber(ARGV[2 * i])
          local tolerance = tonumber(ARGV[2 * i + 1])
          local tat = tonumber(redis.call('GET', KEYS[i]) or now)
          if tat < now then tat = now end
          if tat - now > tolerance then
            local w = tat - now - tolerance
            if w > wait then wait = w end
          end
          tats[i] = tat + interval
        end
        if wait > 0 then return wait end
        for i = 1, n do
          redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil((tats[i] - now) / 1000) + 1000)
        end
        return 0
        """;

    private readonly RedisKey[] keys = Keys(buckets, guard);
    private readonly RedisValue[] args = Args(buckets, guard);
    private long lastUsedTicks = Environment.TickCount64;

    public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastUsedTicks));

    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => Lease.NotYetChecked;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref lastUsedTicks, Environment.TickCount64);
        try
        {
            var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(Script, keys, args);
            return result switch
            {
                0 => Lease.Granted,
                > 0 => Lease.Rejected(TimeSpan.FromTicks(result * 10), RateReason),
                _ => Lease.Rejected(TimeSpan.FromMilliseconds(-result), FailedAuthenticationReason),
            };
        }
        catch (RedisException e)
        {
            logger.LogWarning(e, "Rate limit state unavailable in Redis; letting the request through");
            return Lease.Granted;
        }
    }

    private static RedisKey[] Keys(IReadOnlyList<GcraBucket> buckets, FailedAuthenticationGuard? guard)
    {
        var keys = buckets.Select(b => (RedisKey)b.Key).ToList();
        if (guard is not null)
        {
            keys.Add(guard.Key);
        }

        return [.. keys];
    }

    private static RedisValue[] Args(IReadOnlyList<GcraBucket> buckets, FailedAuthenticationGuard? guard)
    {
        var args = new List<RedisValue> { buckets.Count };
        foreach (var bucket in buckets)
        {
            args.Add(bucket.EmissionIntervalMicros);
            args.Add(bucket.ToleranceMicros);
        }

        if (guard is not null)
        {
            args.Add(guard.Limit);
        }

        return [.. args];
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter, string? reason) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null, null);
        public static readonly Lease NotYetChecked = new(false, null, null);

        public static Lease Rejected(TimeSpan retryAfter, string reason) => new(false, retryAfter, reason);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name, ReasonMetadata];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : metadataName == ReasonMetadata ? reason : null;
            return metadata is not null;
        }
    }
}
