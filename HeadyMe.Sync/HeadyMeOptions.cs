namespace HeadyMe.Sync;

public sealed class HeadyMeOptions
{
    public const string Section = "HeadyMe";

    /// <summary>Unreferenced chunks younger than this (since last upload, presence answer or commit) are never collected.</summary>
    public TimeSpan ChunkGracePeriod { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Logical bytes each user may keep in the workspaces they own.</summary>
    public long QuotaBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>How often a long poll re-checks the database when Redis notifications are unavailable.</summary>
    public TimeSpan PollFallbackInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a long poll re-checks the database while Redis is connected (a safety net only).</summary>
    public TimeSpan PollSafetyInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Chunk uploads to the object store in parallel per request.</summary>
    public int UploadParallelism { get; set; } = 8;
}
