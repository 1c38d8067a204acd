namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// When to renew: at a uniformly random point between 50 % and 70 % of the lifetime (SPIRE renews at half life, Linkerd
/// at 70 %, Istio at 50 % with jitter). The jitter keeps a fleet started together from renewing together.
/// </summary>
public static class RenewalSchedule
{
    public const double EarliestFraction = 0.5;
    public const double LatestFraction = 0.7;

    /// <param name="jitter">Uniform in [0, 1).</param>
    public static DateTimeOffset RenewAt(DateTimeOffset notBefore, DateTimeOffset notAfter, double jitter)
    {
        if (notAfter <= notBefore)
        {
            throw new ArgumentException("The certificate's validity period is empty.", nameof(notAfter));
        }

        jitter = Math.Clamp(jitter, 0, 1);
        var fraction = EarliestFraction + (LatestFraction - EarliestFraction) * jitter;
        return notBefore + (notAfter - notBefore) * fraction;
    }

    /// <summary>Retry delay after a failed renewal: doubling from <paramref name="first"/>, at most a tenth of what is left, at least 100 ms.</summary>
    public static TimeSpan RetryDelay(TimeSpan first, int attempt, TimeSpan remaining)
    {
        var doubled = first * Math.Pow(2, Math.Min(attempt, 16));
        var cap = remaining / 10;
        var delay = doubled < cap ? doubled : cap;
        return delay < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : delay;
    }
}
