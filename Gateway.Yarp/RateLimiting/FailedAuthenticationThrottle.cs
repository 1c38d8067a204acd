using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Yarp.RateLimiting;

/// <summary>
/// Brute-force protection: counts failed authentications per client IP in Redis (shared by all replicas). Once an IP
/// reaches the limit within the window, its bearer-token requests are refused with 429 until the window ends,
/// without asking SyncManager.
/// </summary>
public sealed class FailedAuthenticationThrottle(
    IConnectionMultiplexer redis,
    IOptions<EdgeRateLimitOptions> options,
    Edge.SecurityAudit audit,
    ILogger<FailedAuthenticationThrottle> logger)
{
    public static string Key(string ip) => $"heady:authfail:{ip}";

    /// <summary>The guard the edge rate-limit policy checks in its own Redis round trip.</summary>
    public FailedAuthenticationGuard GuardFor(string ip) => new(Key(ip), options.Value.FailedAuthPerWindow);

    /// <summary>
    /// How long the IP stays throttled, or null when it is not. Routes under the edge rate-limit policy get this
    /// check from the policy (same Redis round trip as the buckets); this is for any route without it.
    /// </summary>
    public async Task<TimeSpan?> ThrottledForAsync(string ip)
    {
        try
        {
            var db = redis.GetDatabase();
            var count = await db.StringGetAsync(Key(ip));
            if (!count.IsNullOrEmpty && (long)count >= options.Value.FailedAuthPerWindow)
            {
                return await db.KeyTimeToLiveAsync(Key(ip)) ?? TimeSpan.FromSeconds(options.Value.FailedAuthWindowSeconds);
            }
        }
        catch (RedisException e)
        {
            logger.LogWarning(e, "Failed-authentication counter unavailable; not throttling");
        }

        return null;
    }

    public async Task RecordFailureAsync(string ip)
    {
        try
        {
            var db = redis.GetDatabase();
            var count = await db.StringIncrementAsync(Key(ip));
            if (count == 1)
            {
                // The window starts at the first failure; later failures do not extend it.
                await db.KeyExpireAsync(Key(ip), TimeSpan.FromSeconds(options.Value.FailedAuthWindowSeconds));
            }

            audit.OnFailedAuthentication(ip, count);
        }
        catch (RedisException e)
        {
            logger.LogWarning(e, "Failed-authentication counter unavailable");
        }
    }
}
