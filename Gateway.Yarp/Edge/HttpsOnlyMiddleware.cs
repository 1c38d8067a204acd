using Microsoft.Extensions.Options;

namespace Gateway.Yarp.Edge;

/// <summary>
/// The plain-HTTP endpoint serves nothing: every request is answered 308 (method and body preserved) to the same
/// path on HTTPS. Security headers go on every answer; HSTS only over HTTPS, where browsers honour it.
/// </summary>
public sealed class HttpsOnlyMiddleware(RequestDelegate next, IOptions<EdgeTlsOptions> options)
{
    public const string StrictTransportSecurity = "max-age=63072000; includeSubDomains";

    public Task InvokeAsync(HttpContext context)
    {
        var response = context.Response;
        response.OnStarting(static state =>
        {
            var ctx = (HttpContext)state;
            var headers = ctx.Response.Headers;
            headers.Remove("Server");
            headers.Remove("X-Powered-By");
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            if (ctx.Request.IsHttps)
            {
                headers.StrictTransportSecurity = StrictTransportSecurity;
            }

            return Task.CompletedTask;
        }, context);

        if (context.Request.IsHttps)
        {
            return next(context);
        }

        var port = options.Value.PublicHttpsPort;
        var host = port is null or 443 ? context.Request.Host.Host : $"{context.Request.Host.Host}:{port}";
        response.StatusCode = StatusCodes.Status308PermanentRedirect;
        response.Headers.Location = $"https://{host}{context.Request.PathBase}{context.Request.Path}{context.Request.QueryString}";
        return Task.CompletedTask;
    }
}
