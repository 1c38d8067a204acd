namespace SyncManager.Jobs;

/// <summary>Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries spread out.</summary>
public static class RetryPolicy
{
    /// <summary>
    /// Delay before attempt <paramref name="failedAttempt"/> + 1: base × 2^(n−1), capped at max, then a uniformly
    /// random point in [delay/2, delay]. <paramref name="unit"/> is a random number in [0, 1).
    /// </summary>
    public static TimeSpan Delay(int failedAttempt, int baseSeconds, int maxSeconds, double unit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempt, 1);
        var exponent = Math.Min(failedAttempt - 1, 30);
        var delay = Math.Min((double)baseSeconds * Math.Pow(2, exponent), maxSeconds);
        return TimeSpan.FromSeconds((delay / 2) + (delay / 2 * unit));
    }

    /// <summary>The un-jittered bounds of that delay, for documentation and tests.</summary>
    public static (TimeSpan Min, TimeSpan Max) Bounds(int failedAttempt, int baseSeconds, int maxSeconds) =>
        (Delay(failedAttempt, baseSeconds, maxSeconds, 0), Delay(failedAttempt, baseSeconds, maxSeconds, 1));
}
