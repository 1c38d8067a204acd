using HeadyClouds.Sync.Core.Paths;

namespace Heady.Cli.Sync;

/// <summary>
/// Maps workspace paths (from the server: untrusted) to files inside the synced folder. A path that is invalid by the
/// workspace rules (<c>..</c>, absolute, backslashes, control characters...), that would land in <c>.heady/</c>, or
/// whose existing parent folders include a symbolic link (which could point outside) is refused: nothing is ever
/// written outside the folder.
/// </summary>
public static class LocalPaths
{
    public const string StateFolder = ".heady";

    /// <summary>The absolute local path, or null with the reason.</summary>
    public static string? TryResolve(string root, string workspacePath, out string? error)
    {
        var check = WorkspacePath.Validate(workspacePath);
        if (!check.IsValid)
        {
            error = check.Error ?? "invalid path";
            return null;
        }

        if (workspacePath.Split('/')[0] == StateFolder)
        {
            error = $"'{StateFolder}/' holds the sync state and is never synced";
            return null;
        }

        var fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = Path.GetFullPath(Path.Combine(fullRoot, workspacePath.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(fullRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            error = "the path leaves the synced folder";
            return null;
        }

        // Every existing folder between the root and the file must be a real folder, not a link to elsewhere.
        var current = fullRoot;
        var segments = workspacePath.Split('/');
        for (var i = 0; i < segments.Length - 1; i++)
        {
            current = Path.Combine(current, segments[i]);
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null)
            {
                error = $"'{string.Join('/', segments[..(i + 1)])}' is a symbolic link; heady does not write through links";
                return null;
            }

            if (!info.Exists)
            {
                if (File.Exists(current))
                {
                    error = $"'{string.Join('/', segments[..(i + 1)])}' is a file locally, not a folder";
                    return null;
                }

                break; // the rest does not exist yet, so it cannot be a link
            }
        }

        var target = new FileInfo(full);
        if (target.LinkTarget is not null)
        {
            error = $"'{workspacePath}' is a symbolic link locally; heady does not write through links";
            return null;
        }

        error = null;
        return full;
    }

    /// <summary>The workspace path of a local file below root ('/'-separated).</summary>
    public static string ToWorkspacePath(string root, string fullPath) =>
        Path.GetRelativePath(root, fullPath).Replace(Path.DirectorySeparatorChar, '/');
}
