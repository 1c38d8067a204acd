using System.Security.Cryptography;
using System.Text;

namespace Monorepo.Sync.Application;

/// <summary>
/// Verifies that a webhook came from the source host that knows the repository's secret, in the three common styles:
/// GitHub (<c>X-Hub-Signature-256: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>), Gitea/Forgejo/Gogs
/// (<c>X-Gitea-Signature</c> / <c>X-Gogs-Signature</c>: hex HMAC-SHA256) and GitLab (<c>X-Gitlab-Token</c>: the secret).
/// All comparisons are constant-time.
/// </summary>
public static class WebhookSignature
{
    public static bool Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, string secret, out string style)
    {
        var key = Encoding.UTF8.GetBytes(secret);
        if (headers.TryGetValue("X-Hub-Signature-256", out var github))
        {
            style = "github";
            var value = github.ToString();
            return value.StartsWith("sha256=", StringComparison.Ordinal) && HexEquals(value["sha256=".Length..], HMACSHA256.HashData(key, body));
        }

        if (headers.TryGetValue("X-Gitea-Signature", out var gitea) || headers.TryGetValue("X-Gogs-Signature", out gitea))
        {
            style = "gitea";
            return HexEquals(gitea.ToString(), HMACSHA256.HashData(key, body));
        }

        if (headers.TryGetValue("X-Gitlab-Token", out var gitlab))
        {
            style = "gitlab";
            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(gitlab.ToString())), SHA256.HashData(key));
        }

        style = "none";
        return false;
    }

    private static bool HexEquals(string hex, byte[] expected)
    {
        if (hex.Length != expected.Length * 2)
        {
            return false;
        }

        try
        {
            return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(hex), expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
