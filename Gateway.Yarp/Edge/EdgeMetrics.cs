using System.Diagnostics.Metrics;

namespace Gateway.Yarp.Edge;

/// <summary>The gateway's own instruments (exported through OpenTelemetry: the meter is registered as HeadyClouds.*).</summary>
public static class EdgeMetrics
{
    public const string MeterName = "HeadyClouds.Gateway";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> RateLimited = Meter.CreateCounter<long>(
        "heady.gateway.rate_limited", description: "Requests refused with 429, by reason (rate, concurrency, failed-auth).");

    public static readonly Counter<long> AuthenticationFailures = Meter.CreateCounter<long>(
        "heady.gateway.auth.failures", description: "Requests refused with 401, by reason.");

    public static readonly Histogram<double> UpstreamDuration = Meter.CreateHistogram<double>(
        "heady.gateway.upstream.duration", unit: "s", description: "Time from forwarding a request to its upstream answer, by route.");
}
