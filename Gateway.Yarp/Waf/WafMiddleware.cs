using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Gateway.Yarp.Waf;

/// <summary>
/// Runs the <see cref="WafEngine"/> on every request before it can be proxied. Looks only at the request line and the
/// headers: the body is never read (it is streamed to the services). A blocked request gets 403 problem details naming
/// the matched rule ids and the request id, never any part of what the client sent.
/// </summary>
public sealed partial class WafMiddleware(RequestDelegate next, WafEngineProvider engines, WafMetrics metrics, ILogger<WafMiddleware> logger)
{
    public const string BlockedDetail = "The request was refused by the web application firewall.";

    public async Task InvokeAsync(HttpContext context)
    {
        var engine = engines.Engine;
        if (!engine.Options.Enabled)
        {
            await next(context);
            return;
        }

        var result = engine.Evaluate(CreateRequest(context));
        if (result.Matches.Count > 0)
        {
            Report(context, result);
        }

        if (result.Blocked)
        {
            await WriteBlockedAsync(context, result);
            context.RequestServices.GetService<IWafBlockListener>()?.OnBlocked(context, result);
            return;
        }

        await next(context);
    }

    /// <summary>The engine's view of a request: raw request target as sent, every header line, no body.</summary>
    public static WafRequest CreateRequest(HttpContext context)
    {
        var request = context.Request;
        var (path, query) = SplitTarget(context.Features.Get<IHttpRequestFeature>()?.RawTarget);
        if (path is null)
        {
            path = request.PathBase.ToUriComponent() + request.Path.ToUriComponent();
            query = request.QueryString.HasValue ? request.QueryString.Value! : string.Empty;
        }

        var headers = new List<WafHeader>(request.Headers.Count + 4);
        foreach (var (name, values) in request.Headers)
        {
            if (values.Count == 0)
            {
                headers.Add(new WafHeader(name, string.Empty));
                continue;
            }

            foreach (var value in values)
            {
                headers.Add(new WafHeader(name, value ?? string.Empty));
            }
        }

        return new WafRequest(request.Method, path, query ?? string.Empty, headers, request.Protocol);
    }

    /// <summary>Splits an origin-form ("/p?q") or absolute-form ("http://h/p?q") request target; null path when there is none.</summary>
    public static (string? Path, string? Query) SplitTarget(string? rawTarget)
    {
        if (string.IsNullOrEmpty(rawTarget))
        {
            return (null, null);
        }

        var target = rawTarget;
        if (!target.StartsWith('/'))
        {
            var scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0)
            {
                // Asterisk-form (OPTIONS *) or authority-form (CONNECT host:port): no path to inspect.
                return (target == "*" ? "*" : null, null);
            }

            var pathStart = target.IndexOf('/', scheme + 3);
            var queryStart = target.IndexOf('?', scheme + 3);
            target = pathStart < 0 || (queryStart >= 0 && queryStart < pathStart)
                ? "/" + (queryStart < 0 ? string.Empty : target[queryStart..])
                : target[pathStart..];
        }

        var question = target.IndexOf('?');
        return question < 0 ? (target, string.Empty) : (target[..question], target[(question + 1)..]);
    }

    private void Report(HttpContext context, WafResult result)
    {
        metrics.Record(result);

        var ruleIds = string.Join(',', result.RuleIds);
        var activity = Activity.Current;
        activity?.SetTag("heady.waf.rule_ids", ruleIds);
        activity?.SetTag("heady.waf.score", result.Score);
        activity?.SetTag("heady.waf.blocked", result.Blocked);

        var clientIp = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var method = Sanitize(context.Request.Method, 16);
        var path = Sanitize(CreatePathForLog(context), 256);
        if (result.Blocked)
        {
            LogBlocked(logger, context.TraceIdentifier, ruleIds, result.Score, result.Threshold, clientIp, method, path);
        }
        else if (result.ThresholdReached)
        {
            LogDetected(logger, context.TraceIdentifier, ruleIds, result.Score, result.Threshold, clientIp, method, path);
        }
        else
        {
            LogBelowThreshold(logger, context.TraceIdentifier, ruleIds, result.Score, result.Threshold, clientIp, method, path);
        }

        foreach (var match in result.Matches.Where(m => m.TimedOut))
        {
            LogTimeout(logger, context.TraceIdentifier, match.Rule.Id);
        }
    }

    private static string CreatePathForLog(HttpContext context)
    {
        // The path only: the query string carries user data (file names) and is never logged.
        var (path, _) = SplitTarget(context.Features.Get<IHttpRequestFeature>()?.RawTarget);
        return path ?? context.Request.PathBase.ToUriComponent() + context.Request.Path.ToUriComponent();
    }

    /// <summary>Control characters become '?' (no forged log lines) and long values are cut.</summary>
    public static string Sanitize(string value, int maxLength)
    {
        var builder = new StringBuilder(Math.Min(value.Length, maxLength + 1));
        foreach (var c in value)
        {
            if (builder.Length == maxLength)
            {
                builder.Append('…');
                break;
            }

            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }

    private static async Task WriteBlockedAsync(HttpContext context, WafResult result)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.Headers.CacheControl = "no-store";
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status403Forbidden,
            Title = "Forbidden",
            Type = "https://tools.ietf.org/html/rfc9110#section-15.5.4",
            Detail = BlockedDetail,
            Extensions =
            {
                ["requestId"] = context.TraceIdentifier,
                ["ruleIds"] = result.RuleIds,
            },
        };

        var problems = context.RequestServices.GetService<IProblemDetailsService>();
        if (problems is null || !await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            // No problem-details service, or the client's Accept header ruled JSON out: RFC 7807 JSON regardless.
            await context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted);
        }
    }

    [LoggerMessage(EventId = 4030, EventName = "WafBlocked", Level = LogLevel.Warning,
        Message = "WAF blocked request {RequestId}: rules {RuleIds}, score {Score}/{Threshold}, client {ClientIp}, {Method} {Path}")]
    private static partial void LogBlocked(ILogger logger, string requestId, string ruleIds, int score, int threshold, string clientIp, string method, string path);

    [LoggerMessage(EventId = 4031, EventName = "WafDetected", Level = LogLevel.Warning,
        Message = "WAF would block request {RequestId} (detect-only): rules {RuleIds}, score {Score}/{Threshold}, client {ClientIp}, {Method} {Path}")]
    private static partial void LogDetected(ILogger logger, string requestId, string ruleIds, int score, int threshold, string clientIp, string method, string path);

    [LoggerMessage(EventId = 4032, EventName = "WafMatchedBelowThreshold", Level = LogLevel.Information,
        Message = "WAF matched request {RequestId} below the threshold: rules {RuleIds}, score {Score}/{Threshold}, client {ClientIp}, {Method} {Path}")]
    private static partial void LogBelowThreshold(ILogger logger, string requestId, string ruleIds, int score, int threshold, string clientIp, string method, string path);

    [LoggerMessage(EventId = 4033, EventName = "WafRegexTimeout", Level = LogLevel.Warning,
        Message = "WAF rule {RuleId} timed out on request {RequestId} and was counted as a match")]
    private static partial void LogTimeout(ILogger logger, string requestId, int ruleId);
}
