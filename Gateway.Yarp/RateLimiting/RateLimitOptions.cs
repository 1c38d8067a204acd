namespace Gateway.Yarp.RateLimiting;

public sealed class EdgeRateLimitOptions
{
    public const string Section = "Edge:RateLimits";

    /// <summary>Sustained requests per minute allowed for one API token (across all gateway replicas).</summary>
    public int TokenPerMinute { get; set; } = 600;

    /// <summary>Requests one API token may send at once before the sustained rate applies.</summary>
    public int TokenBurst { get; set; } = 100;

    /// <summary>Sustained requests per minute allowed for one client IP (across all gateway replicas).</summary>
    public int IpPerMinute { get; set; } = 1200;

    public int IpBurst { get; set; } = 200;

    /// <summary>Requests handled at once by one replica; the rest queue up to <see cref="GlobalQueueLimit"/>, then 429.</summary>
    public int GlobalConcurrency { get; set; } = 512;

    public int GlobalQueueLimit { get; set; } = 256;

    /// <summary>Failed authentications one IP may cause per <see cref="FailedAuthWindowSeconds"/> before it is throttled.</summary>
    public int FailedAuthPerWindow { get; set; } = 20;

    public int FailedAuthWindowSeconds { get; set; } = 300;
}
