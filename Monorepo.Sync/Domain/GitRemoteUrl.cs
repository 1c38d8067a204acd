using System.Text.RegularExpressions;

namespace Monorepo.Sync.Domain;

/// <summary>Validation of the remote URLs a repository may be mirrored from.</summary>
public static partial class GitRemoteUrl
{
    // scp-like syntax: user@host:path (no scheme); the path must not start with '/' twice or contain '..'.
    [GeneratedRegex(@"^(?<user>[A-Za-z0-9._-]+)@(?<host>[A-Za-z0-9.-]+):(?<path>[A-Za-z0-9._~/-]+)$")]
    private static partial Regex ScpLike();

    /// <summary>
    /// Accepts https:// and ssh:// URLs and scp-like <c>git@host:path</c>. Refuses local paths and file:// (they would
    /// let a user mirror the server's own disk), plain http and git:// (unauthenticated transport), and credentials
    /// embedded in the URL (they belong in the credential store, never in a column that the API returns).
    /// </summary>
    public static bool TryValidate(string? url, out string error) => TryValidate(url, allowLocal: false, out error);

    /// <param name="allowLocal">Also accept absolute local paths and file:// URLs (tests and single-machine development only).</param>
    public static bool TryValidate(string? url, bool allowLocal, out string error)
    {
        error = "";
        if (allowLocal && url is { Length: > 1 and <= 2048 } && !url.Any(char.IsControl)
            && (url.StartsWith("file:///", StringComparison.Ordinal) || (url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal)))
            && !url.Split('/').Contains(".."))
        {
            return true;
        }

        if (string.IsNullOrWhiteSpace(url) || url.Length > 2048 || url.Any(char.IsControl) || url.Trim() != url)
        {
            error = "Source URL is required: at most 2048 characters, without spaces around it or control characters.";
            return false;
        }

        var scp = ScpLike().Match(url);
        if (scp.Success && !url.Contains("://", StringComparison.Ordinal))
        {
            if (scp.Groups["path"].Value.Split('/').Contains(".."))
            {
                error = "Source URL path must not contain '..'.";
                return false;
            }

            return true;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            error = "Source URL must be an https:// or ssh:// URL, or scp-like user@host:path.";
            return false;
        }

        if (uri.Scheme is not ("https" or "ssh"))
        {
            error = $"Scheme '{uri.Scheme}' is not allowed: use https:// or ssh:// (local paths, file://, http:// and git:// are refused).";
            return false;
        }

        if (uri.Scheme == "https" && !string.IsNullOrEmpty(uri.UserInfo))
        {
            error = "Source URL must not embed credentials; register them as the repository's credential instead.";
            return false;
        }

        if (uri.Scheme == "ssh" && uri.UserInfo.Contains(':'))
        {
            error = "Source URL must not embed a password; register an SSH key as the repository's credential instead.";
            return false;
        }

        return true;
    }
}
