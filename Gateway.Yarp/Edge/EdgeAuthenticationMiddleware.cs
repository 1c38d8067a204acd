using System.Diagnostics;
using Gateway.Yarp.RateLimiting;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace Gateway.Yarp.Edge;

/// <summary>
/// Runs inside the YARP pipeline for every routed request: drops any platform header a client sent, enforces the
/// route's body-size limit, authenticates the bearer token through SyncManager, and forwards the verified identity
/// as a signed assertion. The raw token never travels past the gateway.
/// </summary>
public sealed class EdgeAuthenticationMiddleware(
    RequestDelegate next,
    TokenIntrospector introspector,
    FailedAuthenticationThrottle throttle,
    IdentityKey key,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    IProblemDetailsService problems,
    ILogger<EdgeAuthenticationMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        StripReservedHeaders(context.Request.Headers);
        ApplyBodyLimit(context);
        if (IsUnauthenticatedRoute(context))
        {
            // Routes such as source-host webhooks authenticate inside the service (HMAC over the body); no identity
            // is forwarded for them, and the service treats the caller as anonymous.
            await next(context);
            return;
        }

        var token = BearerToken(context.Request);
        if (token is null)
        {
            await ChallengeAsync(context, "A bearer API token is required: send 'Authorization: Bearer <token>'.", "invalid_request", "missing");
            return;
        }

        var ip = EdgeRateLimitPolicy.ClientAddress(context);
        if (!UnderEdgeRateLimitPolicy(context) && await throttle.ThrottledForAsync(ip) is { } throttledFor)
        {
            EdgeMetrics.RateLimited.Add(1, new KeyValuePair<string, object?>("reason", "failed-auth"));
            await EdgeRateLimitPolicy.WriteTooManyRequestsAsync(context, throttledFor,
                "Too many failed authentications from this address; retry after the time in Retry-After.");
            return;
        }

        IntrospectionResponse answer;
        try
        {
            answer = await introspector.IntrospectAsync(token, context.RequestAborted);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            logger.LogError(e, "Token introspection failed");
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            await WriteProblemAsync(context, "Service unavailable", "Authentication is temporarily unavailable; retry shortly.");
            return;
        }

        if (!answer.Active || answer.UserId is null)
        {
            await throttle.RecordFailureAsync(ip);
            await ChallengeAsync(context, "The bearer token is not valid: it is unknown, expired or revoked.", "invalid_token", "invalid");
            return;
        }

        var identity = new CallerIdentity(
            CallerKind.User,
            answer.UserId.Value.ToString(),
            answer.Username ?? answer.UserId.Value.ToString(),
            answer.Roles ?? [],
            answer.Scopes ?? [],
            answer.TokenId?.ToString());
        context.Request.Headers.Authorization = default;
        context.Request.Headers[HeadyHeaders.Identity] = IdentityAssertion.Create(
            identity, key.Bytes, time.GetUtcNow(), TimeSpan.FromSeconds(options.Value.IdentityAssertionSeconds));

        context.Items[AccessLogMiddleware.UserIdItem] = identity.Subject;
        var started = Stopwatch.GetTimestamp();
        await next(context);
        EdgeMetrics.UpstreamDuration.Record(
            Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("route", context.GetReverseProxyFeature().Route.Config.RouteId),
            new KeyValuePair<string, object?>("status", context.Response.StatusCode));
    }

    public static void StripReservedHeaders(IHeaderDictionary headers)
    {
        foreach (var name in headers.Keys.Where(k => k.StartsWith(HeadyHeaders.ReservedPrefix, StringComparison.OrdinalIgnoreCase)).ToList())
        {
            headers.Remove(name);
        }
    }

    public static string? BearerToken(HttpRequest request)
    {
        var values = request.Headers.Authorization;
        if (values.Count != 1)
        {
            return null;
        }

        var value = values[0];
        const string scheme = "Bearer ";
        if (value is null || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = value[scheme.Length..].Trim();
        return token.Length is > 0 and <= 512 ? token : null;
    }

    /// <summary>The edge policy already refused throttled addresses, in the same Redis round trip as its buckets.</summary>
    private static bool UnderEdgeRateLimitPolicy(HttpContext context) =>
        context.GetReverseProxyFeature().Route.Config.RateLimiterPolicy == EdgeRateLimitPolicy.Name;

    private static bool IsUnauthenticatedRoute(HttpContext context) =>
        context.GetReverseProxyFeature().Route.Config.Metadata?.TryGetValue("Authentication", out var mode) == true && mode == "none";

    private static void ApplyBodyLimit(HttpContext context)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        if (route.Metadata?.TryGetValue("MaxRequestBodyBytes", out var text) == true && long.TryParse(text, out var limit))
        {
            var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (feature is { IsReadOnly: false })
            {
                feature.MaxRequestBodySize = limit;
            }

            // A declared length over the limit is refused before anything is read or forwarded.
            if (context.Request.ContentLength > limit)
            {
                throw new BadHttpRequestException($"The request body is larger than this route allows ({limit} bytes).", StatusCodes.Status413PayloadTooLarge);
            }
        }
    }

    private async Task ChallengeAsync(HttpContext context, string detail, string error, string reason)
    {
        EdgeMetrics.AuthenticationFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"headyclouds\", error=\"{error}\"";
        await WriteProblemAsync(context, "Unauthorized", detail);
    }

    private async Task WriteProblemAsync(HttpContext context, string title, string detail) =>
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = context.Response.StatusCode, Title = title, Detail = detail },
        });
}
