namespace Monorepo.Sync;

public sealed class MonorepoOptions
{
    public const string Section = "Monorepo";

    /// <summary>Where the bare mirrors live (the service's volume). The AppHost points it at its state directory.</summary>
    public string StoragePath { get; set; } = Path.Combine(Path.GetTempPath(), "headyclouds-monorepo");

    /// <summary>
    /// Accept local paths and file:// URLs as sources and targets. For tests and single-machine development only:
    /// on a shared server it would let users mirror the server's own disk.
    /// </summary>
    public bool AllowLocalRemotes { get; set; }

    /// <summary>
    /// Accept sources and targets on the platform's own network (loopback, private, link-local addresses: see
    /// <see cref="Domain.RemoteHosts"/>). Off by default: a user's URL must not reach internal services or cloud metadata.
    /// Turn it on for a git server on the internal network.
    /// </summary>
    public bool AllowPrivateNetworkRemotes { get; set; }

    /// <summary>Timeout of each git operation.</summary>
    public TimeSpan GitTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>First retry delay after a failed automatic run; doubles per failure up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(2);
}
