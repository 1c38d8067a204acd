namespace Gateway.Yarp.Edge;

public sealed class EdgeOptions
{
    public const string Section = "Edge";

    /// <summary>How long an "active" introspection answer is reused. Revocation evicts it at once; this bounds staleness otherwise.</summary>
    public int ActiveTokenCacheSeconds { get; set; } = 30;

    /// <summary>Caching "inactive" answers keeps floods of random tokens away from SyncManager.</summary>
    public int InactiveTokenCacheSeconds { get; set; } = 10;

    /// <summary>
    /// How long an answer is also kept in this replica's memory (0 = never). Revocations evict it at once through
    /// Redis pub/sub; this bounds staleness only if an eviction message is lost.
    /// </summary>
    public int LocalTokenCacheSeconds { get; set; } = 10;

    /// <summary>Entries kept in memory at most; when full, the memory cache starts over.</summary>
    public int LocalTokenCacheMaxEntries { get; set; } = 100_000;

    /// <summary>Lifetime of the identity assertion forwarded to the services.</summary>
    public int IdentityAssertionSeconds { get; set; } = 60;

    /// <summary>Base address of SyncManager (resolved by service discovery; https, the mesh, when the service has it).</summary>
    public string SyncManagerAddress { get; set; } = "https+http://syncmanager";
}
