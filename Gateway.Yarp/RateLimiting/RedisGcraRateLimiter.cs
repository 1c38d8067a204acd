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
/// A token-bucket limiter whose state lives in Redis, so the limit holds across all gateway replicas. It uses the
/// generic cell rate algorithm (one timestamp per bucket, no background refill) and checks every bucket of a request
/// (per token and per IP) in one atomic script using Redis's own clock, so replicas with skewed clocks agree.
/// <see cref="AttemptAcquireCore"/> does no I/O and never grants: ASP.NET's middleware then calls
/// <see cref="AcquireAsyncCore"/>, which asks Redis once. If Redis is unreachable the request is let through
/// (failing open keeps the platform up; the failure is logged).
/// </summary>
public sealed class RedisGcraRateLimiter(IConnectionMultiplexer redis, IReadOnlyList<GcraBucket> buckets, ILogger logger) : RateLimiter
{
    // KEYS: bucket keys. ARGV: per bucket emission interval and tolerance (microseconds).
    // Returns 0 when granted, otherwise the microseconds to wait.
    private const string Script = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local wait = 0
        local tats = {}
        for i, key in ipairs(KEYS) do
          local interval = tonumber(ARGV[2 * i - 1])
          local tolerance = tonumber(ARGV[2 * i])
          local tat = tonumber(redis.call('GET', key) or now)
          if tat < now then tat = now end
          if tat - now > tolerance then
            local w = tat - now - tolerance
            if w > wait then wait = w end
          end
          tats[i] = tat + interval
        end
        if wait > 0 then return wait end
        for i, key in ipairs(KEYS) do
          redis.call('SET', key, tats[i], 'PX', math.ceil((tats[i] - now) / 1000) + 1000)
        end
        return 0
        """;

    private long lastUsedTicks = Environment.TickCount64;

    public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastUsedTicks));

    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => Lease.NotYetChecked;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref lastUsedTicks, Environment.TickCount64);
        var keys = new RedisKey[buckets.Count];
        var args = new RedisValue[buckets.Count * 2];
        for (var i = 0; i < buckets.Count; i++)
        {
            keys[i] = buckets[i].Key;
            args[2 * i] = buckets[i].EmissionIntervalMicros;
            args[(2 * i) + 1] = buckets[i].ToleranceMicros;
        }

        try
        {
            var wait = (long)await redis.GetDatabase().ScriptEvaluateAsync(Script, keys, args);
            return wait == 0 ? Lease.Granted : Lease.Rejected(TimeSpan.FromTicks(wait * 10));
        }
        catch (RedisException e)
        {
            logger.LogWarning(e, "Rate limit state unavailable in Redis; letting the request through");
            return Lease.Granted;
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null);
        public static readonly Lease NotYetChecked = new(false, null);

        public static Lease Rejected(TimeSpan retryAfter) => new(false, retryAfter);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
