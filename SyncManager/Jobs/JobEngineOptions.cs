namespace SyncManager.Jobs;

public sealed class JobEngineOptions
{
    public const string Section = "Jobs";

    /// <summary>Run the worker and scheduler in this process (off in API-only test hosts).</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>This replica's name in lease_owner; defaults to host:pid:random.</summary>
    public string? WorkerId { get; set; }

    /// <summary>Jobs this replica runs at the same time.</summary>
    public int Concurrency { get; set; } = 2;

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Heartbeats per lease: the lease is renewed every lease/N (3 allows two lost heartbeats).</summary>
    public int HeartbeatsPerLease { get; set; } = 3;

    /// <summary>Timeout of a call to another service's internal endpoint (a repository sync can be long).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Base addresses of the services the jobs call (service discovery names in the AppHost).</summary>
    public string MonorepoSyncAddress { get; set; } = "https+http://monorepo-sync";

    public string HeadyMeSyncAddress { get; set; } = "https+http://headyme-sync";
}
