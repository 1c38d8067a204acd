using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace HeadyClouds.AppHost.DataTier;

public enum DataTierMode
{
    /// <summary>PostgreSQL, Redis and MinIO as containers (needs a running Docker or Podman engine).</summary>
    Containers,

    /// <summary>PostgreSQL, Redis and an S3 server (s3rver) as local executables: no container engine needed.</summary>
    Local,
}

public static class DataTierModeResolver
{
    /// <summary>Configuration key (env <c>HeadyClouds__DataTier</c>, or <c>--HeadyClouds:DataTier=local</c>): auto, local or containers.</summary>
    public const string ConfigurationKey = "HeadyClouds:DataTier";

    public static DataTierMode Resolve(IConfiguration configuration, bool isPublishMode, Func<bool>? containerRuntimeIsHealthy = null)
    {
        // A manifest describes production, which always runs the data tier as containers.
        if (isPublishMode)
        {
            return DataTierMode.Containers;
        }

        var configured = configuration[ConfigurationKey]?.Trim().ToLowerInvariant();
        return configured switch
        {
            "local" => DataTierMode.Local,
            "containers" => DataTierMode.Containers,
            null or "" or "auto" => (containerRuntimeIsHealthy ?? (() => ContainerRuntimeIsHealthy(configuration)))()
                ? DataTierMode.Containers
                : DataTierMode.Local,
            _ => throw new InvalidOperationException(
                $"{ConfigurationKey} is '{configured}'; use 'auto', 'local' or 'containers'."),
        };
    }

    /// <summary>
    /// True when the container runtime answers <c>info</c>: a client without an engine (as on machines where only the
    /// docker CLI is installed) does not count, since Aspire would then wait forever for containers that never start.
    /// </summary>
    public static bool ContainerRuntimeIsHealthy(IConfiguration configuration)
    {
        var runtime = configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"] ?? "docker";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return false;
            }

            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // The runtime's CLI is not installed at all.
            return false;
        }
    }
}
