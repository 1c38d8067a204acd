namespace HeadyClouds.AppHost.DataTier;

/// <summary>
/// Per-container limits and hardening from the seed architecture, applied as container runtime arguments
/// (docker/podman run flags). docs/security.md lists, per container, what is applied and what is not, and why.
/// </summary>
public sealed record ContainerHardening(
    string Memory,
    string Cpus,
    int PidsLimit,
    string? User,
    bool ReadOnlyRootFilesystem,
    IReadOnlyList<string> Tmpfs,
    IReadOnlyList<string> AddedCapabilities)
{
    /// <summary>Seed: 2 GB RAM, 1.0 CPU. The image's entrypoint starts as root to fix ownership of the data
    /// volume, then drops to uid 70 (postgres) with su-exec, so it keeps the capabilities that needs.</summary>
    public static readonly ContainerHardening Postgres = new(
        "2g", "1.0", 256, User: null, ReadOnlyRootFilesystem: true,
        Tmpfs: ["/var/run/postgresql", "/tmp"],
        AddedCapabilities: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"]);

    /// <summary>Seed: 512 MB RAM, 0.3 CPU; no persistence, so /data is a tmpfs and the process runs as the redis user.</summary>
    public static readonly ContainerHardening Redis = new(
        "512m", "0.3", 64, User: "999:1000", ReadOnlyRootFilesystem: true,
        Tmpfs: ["/data", "/tmp"],
        AddedCapabilities: []);

    /// <summary>Seed: 4 GB RAM, 2.0 CPU. MinIO runs as an unprivileged user; its data volume must be owned by that uid.</summary>
    public static readonly ContainerHardening Minio = new(
        "4g", "2.0", 512, User: "1000:1000", ReadOnlyRootFilesystem: true,
        Tmpfs: ["/tmp"],
        AddedCapabilities: []);

    public IEnumerable<string> RuntimeArguments()
    {
        yield return $"--memory={Memory}";
        yield return $"--memory-swap={Memory}";
        yield return $"--cpus={Cpus}";
        yield return $"--pids-limit={PidsLimit}";
        yield return "--cap-drop=ALL";
        foreach (var capability in AddedCapabilities)
        {
            yield return $"--cap-add={capability}";
        }

        yield return "--security-opt=no-new-privileges";
        if (User is not null)
        {
            yield return $"--user={User}";
        }

        if (ReadOnlyRootFilesystem)
        {
            yield return "--read-only";
        }

        foreach (var path in Tmpfs)
        {
            yield return $"--tmpfs={path}:rw,noexec,nosuid,size=64m";
        }
    }
}

public static class ContainerHardeningExtensions
{
    public static IResourceBuilder<T> WithHardening<T>(this IResourceBuilder<T> container, ContainerHardening hardening)
        where T : ContainerResource =>
        container.WithContainerRuntimeArgs([.. hardening.RuntimeArguments()]);
}
