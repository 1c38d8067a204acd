using System.Diagnostics;

namespace Gateway.Yarp.Edge;

/// <summary>
/// One structured line per request: method, path (never the query string, which may carry file names), route,
/// status, duration, client address, user id once authenticated, and the W3C trace id that ties it to the services'
/// spans. Never the Authorization header or a token.
/// </summary>
public sealed partial class AccessLogMiddleware(RequestDelegate next, ILogger<AccessLogMiddleware> logger)
{
    public const string UserIdItem = "heady.userId";

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var route = context.GetEndpoint()?.DisplayName;
            LogRequest(
                logger,
                context.Request.Method,
                context.Request.Path.Value ?? "/",
                route,
                context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                context.Connection.RemoteIpAddress?.ToString(),
                context.Items.TryGetValue(UserIdItem, out var user) ? user as string : null,
                Activity.Current?.TraceId.ToString());
        }
    }

    [LoggerMessage(EventId = 1000, EventName = "EdgeAccess", Level = LogLevel.Information,
        Message = "{Method} {Path} route={Route} status={Status} duration_ms={DurationMs:F1} client={Client} user={UserId} trace={TraceId}")]
    private static partial void LogRequest(ILogger logger, string method, string path, string? route, int status, double durationMs, string? client, string? userId, string? traceId);
}
