namespace Monorepo.Sync.Git.Mirror;

/// <summary>
/// How git authenticates to a remote. Secrets go to git through its environment or through files only this process's
/// user can read, never through the argument vector or the URL, and <see cref="object.ToString"/> never shows them.
/// </summary>
public abstract record GitCredential
{
    private protected GitCredential()
    {
    }

    /// <summary><c>https-token</c> or <c>ssh-key</c>.</summary>
    public abstract string Kind { get; }
}

/// <summary>
/// An HTTPS token (GitHub/GitLab/Gitea personal or app token), sent as HTTP Basic authentication
/// (<paramref name="Username"/>:<paramref name="Token"/>) in an <c>http.&lt;url&gt;.extraHeader</c> scoped to the
/// remote's scheme, host and port, set through <c>GIT_CONFIG_*</c> environment variables.
/// </summary>
public sealed record HttpsTokenCredential(string Username, string Token) : GitCredential
{
    public override string Kind => "https-token";

    public override string ToString() => $"HttpsTokenCredential {{ Username = {Username}, Token = *** }}";
}

/// <summary>
/// An SSH private key (OpenSSH or PEM format, without passphrase) and the pinned host keys (<c>known_hosts</c> lines):
/// a host whose key is not among them is refused.
/// </summary>
public sealed record SshKeyCredential(string PrivateKeyPem, string KnownHostsLines) : GitCredential
{
    public override string Kind => "ssh-key";

    public override string ToString() => "SshKeyCredential { PrivateKeyPem = ***, KnownHostsLines = (pinned) }";
}
