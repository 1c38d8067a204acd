using System.Net;

namespace Heady.Cli.Api;

/// <summary>
/// Honors the gateway's rate limits: a 429 or 503 is retried after its Retry-After (default 2 s, at most 60 s), up to
/// 8 times, instead of failing a long sync. Only these statuses are retried, so a request is never applied twice
/// (the gateway refused it before forwarding).
/// </summary>
public sealed class RetryHandler : DelegatingHandler
{
    public const int MaxAttempts = 8;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (attempt >= MaxAttempts || response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
            {
                return response;
            }

            var delay = response.Headers.RetryAfter switch
            {
                { Delta: { } delta } => delta,
                { Date: { } date } => date - DateTimeOffset.UtcNow,
                _ => TimeSpan.FromSeconds(2),
            };
            response.Dispose();
            await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(delay.TotalSeconds, 0.1, 60)), cancellationToken);
        }
    }
}
