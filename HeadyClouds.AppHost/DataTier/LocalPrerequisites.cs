namespace HeadyClouds.AppHost.DataTier;

/// <summary>
/// Checks, before anything starts, that local mode has the programs it runs. Aspire would otherwise wait forever
/// for a resource that cannot start; this fails at once and says what to install.
/// </summary>
public static class LocalPrerequisites
{
    public const string InstallHint = "Run 'bash eng/install-deps.sh' (as root, or with sudo) from the repository root";

    public static string? FindPostgresBinDirectory()
    {
        foreach (var candidate in new[] { "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin" })
        {
            if (File.Exists(Path.Combine(candidate, "postgres")) && File.Exists(Path.Combine(candidate, "initdb")))
            {
                return candidate;
            }
        }

        return null;
    }

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    public static IReadOnlyList<string> Missing(string repositoryRoot)
    {
        var missing = new List<string>();
        if (FindPostgresBinDirectory() is null)
        {
            missing.Add("PostgreSQL 15 server (Debian package postgresql-15: /usr/lib/postgresql/15/bin/postgres)");
        }

        if (FindOnPath("redis-server") is null)
        {
            missing.Add("redis-server (Debian package redis-server)");
        }

        if (FindOnPath("node") is null)
        {
            missing.Add("Node.js (Debian packages nodejs and npm) for the S3 server");
        }
        else if (!Directory.Exists(Path.Combine(repositoryRoot, "eng", "s3rver", "node_modules", "s3rver")))
        {
            missing.Add("the npm package s3rver (npm ci --prefix eng/s3rver)");
        }

        if (FindOnPath("bash") is null)
        {
            missing.Add("bash");
        }

        return missing;
    }

    public static void EnsurePresent(string repositoryRoot)
    {
        var missing = Missing(repositoryRoot);
        if (missing.Count > 0)
        {
            throw new DistributedApplicationException(
                "Local mode (no container engine) cannot start; missing: " + string.Join("; ", missing) + ". " + InstallHint + ".");
        }
    }
}
