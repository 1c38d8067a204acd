using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Gateway.Yarp.Edge;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Yarp.RateLimiting;

/// <summary>
/// The per-route policy (YARP route "RateLimiterPolicy": "edge"): a token bucket per client IP and, when the request
/// carries a bearer token, one per token as well; both held in Redis so they hold across gateway replicas.
/// The bucket is keyed by a hash of the token, checked before authentication, so a flood of requests with one token
/// is stopped without asking SyncManager about each.
/// </summary>
public sealed class EdgeRateLimitPolicy(
    IConnectionMultiplexer redis,
    IOptions<EdgeRateLimitOptions> options,
    FailedAuthenticationThrottle throttle,
    ILogger<EdgeRateLimitPolicy> logger) : IRateLimiterPolicy<string>
{
    public const string Name = "edge";

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => null;

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var ip = ClientAddress(httpContext);
        var token = EdgeAuthenticationMiddleware.BearerToken(httpContext.Request);
        var tokenKey = token is null ? null : TokenKey(token);
        var key = tokenKey is null ? $"ip:{ip}" : $"ip:{ip}|{tokenKey}";
        return RateLimitPartition.Get(key, _ =>
        {
            var o = options.Value;
            var buckets = new List<GcraBucket> { new($"heady:rl:ip:{ip}", o.IpPerMinute, o.IpBurst) };
            if (tokenKey is not null)
            {
                buckets.Add(new GcraBucket($"heady:rl:{tokenKey}", o.TokenPerMinute, o.TokenBurst));
            }

            // Only bearer requests are throttled after failed authentications (as in the authentication middleware).
            return new RedisGcraRateLimiter(redis, buckets, tokenKey is null ? null : throttle.GuardFor(ip), logger);
        });
    }

    /// <summary>The peer address: the gateway is the public edge, so no forwarding header from a client is believed.</summary>
    public static string ClientAddress(HttpContext context) =>
        (context.Connection.RemoteIpAddress ?? IPAddress.None).ToString();

    private static string TokenKey(string token) =>
        "tok:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)).AsSpan(0, 16));

    /// <summary>429 (not the framework's 503) with Retry-After and a problem-details body.</summary>
    public static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var reason = context.Lease.TryGetMetadata(RedisGcraRateLimiter.ReasonMetadata, out var why) && why is string text ? text : "concurrency";
        EdgeMetrics.RateLimited.Add(1, new KeyValuePair<string, object?>("reason", reason));
        await WriteTooManyRequestsAsync(http, retryAfter, reason switch
        {
            RedisGcraRateLimiter.RateReason => "Too many requests from this client or token; retry after the time in Retry-After.",
            RedisGcraRateLimiter.FailedAuthenticationReason => "Too many failed authentications from this address; retry after the time in Retry-After.",
            _ => "The gateway is at capacity; retry shortly.",
        });
    }

    public static async Task WriteTooManyRequestsAsync(HttpContext http, TimeSpan retryAfter, string detail)
    {
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = StatusCodes.Status429TooManyRequests, Title = "Too many requests", Detail = detail },
        });
    }
}
