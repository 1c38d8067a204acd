using Gateway.Yarp.RateLimiting;
using Gateway.Yarp.Waf;
using HeadyClouds.ServiceDefaults.Audit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Yarp.Edge;

public sealed class SecurityAuditOptions
{
    public const string Section = "Edge:Audit";

    /// <summary>WAF blocks from one address within the window that make one <c>waf.blocked</c> audit entry.</summary>
    public int WafBlocksThreshold { get; set; } = 10;

    public int WafBlocksWindowSeconds { get; set; } = 300;
}

/// <summary>
/// Sends the edge's security events to SyncManager's hash-chained audit log: an address that reaches the WAF-block
/// threshold (<c>waf.blocked</c>) and an address that becomes throttled for failed authentications
/// (<c>auth.throttled</c>). Each is recorded once per address and window, at the moment the threshold is crossed, so
/// an attacker cannot flood the audit chain (every single block and failure is still in the security log and the
/// metrics). Events go through the bounded <see cref="IAuditQueue"/>: a request never waits for the audit log.
/// </summary>
public sealed class SecurityAudit(
    IConnectionMultiplexer redis,
    IAuditQueue queue,
    IOptions<SecurityAuditOptions> options,
    IOptions<EdgeRateLimitOptions> limits,
    ILogger<SecurityAudit> logger) : IWafBlockListener
{
    public void OnBlocked(HttpContext context, WafResult result)
    {
        var ip = EdgeRateLimitPolicy.ClientAddress(context);
        var ruleIds = result.Matches.Select(m => m.Rule.Id).Distinct().ToArray();
        var method = context.Request.Method;
        var path = context.Request.Path.Value ?? "";
        _ = CountWafBlockAsync(ip, ruleIds, result.Score, method, path);
    }

    /// <summary>Called with the failure count after each failed authentication from <paramref name="ip"/>.</summary>
    public void OnFailedAuthentication(string ip, long failuresInWindow)
    {
        if (failuresInWindow == limits.Value.FailedAuthPerWindow)
        {
            queue.Enqueue(new AuditEvent($"ip:{ip}", "auth.throttled", ip, new
            {
                failures = failuresInWindow,
                windowSeconds = limits.Value.FailedAuthWindowSeconds,
            }));
        }
    }

    private async Task CountWafBlockAsync(string ip, int[] ruleIds, int score, string method, string path)
    {
        try
        {
            var o = options.Value;
            var key = $"heady:audit:waf:{ip}";
            var db = redis.GetDatabase();
            var count = await db.StringIncrementAsync(key);
            if (count == 1)
            {
                await db.KeyExpireAsync(key, TimeSpan.FromSeconds(o.WafBlocksWindowSeconds));
            }

            if (count == o.WafBlocksThreshold)
            {
                // The path without its query: the query may be the attack itself, and may hold anything.
                queue.Enqueue(new AuditEvent($"ip:{ip}", "waf.blocked", ip, new
                {
                    blocks = count,
                    windowSeconds = o.WafBlocksWindowSeconds,
                    lastRuleIds = ruleIds,
                    lastScore = score,
                    lastMethod = method,
                    lastPath = path.Length > 256 ? path[..256] : path,
                }));
            }
        }
        catch (RedisException e)
        {
            logger.LogWarning(e, "WAF block counter unavailable; this block is not counted towards the audit threshold");
        }
    }
}
