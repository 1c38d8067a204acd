using System.Net;
using System.Text;

namespace Monorepo.Sync.Git.Mirror;

/// <summary>
/// The environment for git commands that talk to one remote with one credential, and the scrubbing of git's messages.
/// HTTPS tokens go in <c>GIT_CONFIG_*</c> variables (an <c>http.&lt;scheme://host:port/&gt;.extraHeader</c>, so the
/// header never goes to another host, e.g. after a redirect); SSH keys and pinned host keys go to files in a private
/// temporary directory (0700, files 0600) named in <c>GIT_SSH_COMMAND</c>, deleted on <see cref="Dispose"/>.
/// </summary>
internal sealed class GitRemoteSession : IDisposable
{
    private readonly List<string> secrets = [];
    private readonly Dictionary<string, string> environment = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> config = [];
    private DirectoryInfo? sshDirectory;

    private GitRemoteSession()
    {
    }

    public IReadOnlyDictionary<string, string> Environment => environment;

    /// <summary>
    /// Prepares the environment for <paramref name="url"/>. <paramref name="extraConfig"/> are further git settings
    /// (passed through the environment as well, so no <c>-c</c> appears in the argument vector).
    /// </summary>
    public static GitRemoteSession Open(string url, GitCredential? credential, MirrorEngineOptions options, IEnumerable<KeyValuePair<string, string>>? extraConfig = null)
    {
        ValidateUrl(url);
        var session = new GitRemoteSession();
        try
        {
            // Whatever the service's own environment says, git prints no traces (they could show headers or URLs).
            foreach (var trace in new[] { "GIT_TRACE", "GIT_TRACE_CURL", "GIT_TRACE_PACKET", "GIT_TRACE_PACK_ACCESS", "GIT_TRACE_PERFORMANCE", "GIT_TRACE_SETUP", "GIT_TRACE2", "GIT_TRACE2_EVENT", "GIT_TRACE2_PERF", "GIT_CURL_VERBOSE" })
            {
                session.environment[trace] = "0";
            }

            session.environment["GIT_TRACE_REDACT"] = "1";
            if (options.AllowedProtocols is not null)
            {
                session.environment["GIT_ALLOW_PROTOCOL"] = options.AllowedProtocols;
            }

            switch (credential)
            {
                case null:
                    break;
                case HttpsTokenCredential https:
                    session.AddHttpsToken(url, https);
                    break;
                case SshKeyCredential ssh:
                    session.AddSshKey(url, ssh);
                    break;
                default:
                    throw new ArgumentException($"Unsupported credential kind '{credential.Kind}'.", nameof(credential));
            }

            foreach (var setting in extraConfig ?? [])
            {
                session.config.Add(setting);
            }

            session.environment["GIT_CONFIG_COUNT"] = session.config.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            for (var i = 0; i < session.config.Count; i++)
            {
                session.environment[$"GIT_CONFIG_KEY_{i}"] = session.config[i].Key;
                session.environment[$"GIT_CONFIG_VALUE_{i}"] = session.config[i].Value;
            }

            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>A session for local commands only (no remote, no credential).</summary>
    public static GitRemoteSession Local(MirrorEngineOptions options, IEnumerable<KeyValuePair<string, string>>? extraConfig = null) =>
        Open("/dev/null", null, options, extraConfig);

    /// <summary>Removes URL userinfo (<see cref="GitCli.Redact"/>) and every secret of this session from <paramref name="text"/>.</summary>
    public string Scrub(string text)
    {
        var scrubbed = GitCli.Redact(text);
        foreach (var secret in secrets)
        {
            scrubbed = scrubbed.Replace(secret, "***", StringComparison.Ordinal);
        }

        return scrubbed;
    }

    /// <summary>A failure of <paramref name="what"/> as an exception whose message and result hold no secret.</summary>
    public GitCommandException Failure(string what, GitResult result)
    {
        var clean = new GitResult(result.ExitCode, Scrub(result.StandardOutput), Scrub(result.StandardError));
        var detail = clean.StandardError.Trim();
        return new GitCommandException($"{what} failed (git exit {result.ExitCode}){(detail.Length > 0 ? ": " + detail : "")}", clean);
    }

    public void Dispose()
    {
        var directory = sshDirectory;
        sshDirectory = null;
        if (directory is null)
        {
            return;
        }

        try
        {
            foreach (var file in directory.EnumerateFiles())
            {
                // Overwrite before unlinking: the key should not linger in freed blocks of a tmpfs page cache.
                try
                {
                    using var stream = file.Open(FileMode.Open, FileAccess.Write);
                    stream.Write(new byte[stream.Length]);
                }
                catch (IOException)
                {
                }

                file.Delete();
            }

            directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal static void ValidateUrl(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (url.StartsWith('-'))
        {
            throw new ArgumentException("A remote URL must not start with '-' (git would read it as an option).", nameof(url));
        }

        if (url.Any(char.IsControl) || url.Trim() != url)
        {
            throw new ArgumentException("A remote URL must not contain control characters or surrounding spaces.", nameof(url));
        }
    }

    private void AddHttpsToken(string url, HttpsTokenCredential credential)
    {
        if (string.IsNullOrEmpty(credential.Token) || credential.Token.Any(char.IsControl))
        {
            throw new ArgumentException("An HTTPS token credential needs a token without control characters.", nameof(credential));
        }

        if (credential.Username is null || credential.Username.Contains(':') || credential.Username.Any(char.IsControl))
        {
            throw new ArgumentException("An HTTPS token credential needs a username without ':' or control characters.", nameof(credential));
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri))))
        {
            throw new ArgumentException(
                "An HTTPS token credential is only sent to an https:// URL (or http:// on a loopback address, for tests).", nameof(credential));
        }

        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Token}"));
        var header = $"Authorization: Basic {basic}";
        secrets.Add(header);
        secrets.Add(basic);
        secrets.Add(credential.Token);
        var scope = $"{uri.Scheme}://{uri.Host}{(uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))}/";
        config.Add(new($"http.{scope}.extraHeader", header));
    }

    private void AddSshKey(string url, SshKeyCredential credential)
    {
        if (string.IsNullOrWhiteSpace(credential.PrivateKeyPem) || !credential.PrivateKeyPem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            throw new ArgumentException("An SSH credential needs a PEM or OpenSSH private key.", nameof(credential));
        }

        if (string.IsNullOrWhiteSpace(credential.KnownHostsLines))
        {
            throw new ArgumentException("An SSH credential needs the pinned host keys (known_hosts lines): unknown hosts are never trusted.", nameof(credential));
        }

        if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("An SSH key credential goes with an ssh:// or user@host:path URL.", nameof(credential));
        }

        var key = Normalize(credential.PrivateKeyPem);
        secrets.Add(key.Trim());
        secrets.AddRange(key.Split('\n').Select(l => l.Trim()).Where(l => l.Length >= 16 && !l.StartsWith("-----", StringComparison.Ordinal)));

        sshDirectory = Directory.CreateTempSubdirectory("heady-git-ssh-");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(sshDirectory.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var keyFile = WritePrivateFile("id", key);
        var knownHostsFile = WritePrivateFile("known_hosts", Normalize(credential.KnownHostsLines));
        environment["GIT_SSH_VARIANT"] = "ssh";
        // Git runs this through a shell; it only holds our own temporary paths (checked below), never user input.
        environment["GIT_SSH_COMMAND"] = string.Join(' ',
            "ssh", "-F", "/dev/null",
            "-i", ShellQuote(keyFile),
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", "StrictHostKeyChecking=yes",
            "-o", $"UserKnownHostsFile={ShellQuote(knownHostsFile)}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "UpdateHostKeys=no",
            "-o", "BatchMode=yes",
            "-o", "PasswordAuthentication=no",
            "-o", "KbdInteractiveAuthentication=no",
            "-o", "ConnectTimeout=30");
    }

    private string WritePrivateFile(string name, string content)
    {
        var path = Path.Combine(sshDirectory!.FullName, name);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(Encoding.UTF8.GetBytes(content));
        return path;
    }

    private static string ShellQuote(string path)
    {
        if (path.Contains('\'', StringComparison.Ordinal) || path.Any(char.IsControl))
        {
            throw new InvalidOperationException("The temporary directory's path cannot be quoted safely for GIT_SSH_COMMAND.");
        }

        return $"'{path}'";
    }

    /// <summary>LF line ends and a final newline (OpenSSH rejects a key without one).</summary>
    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').TrimEnd('\n') + "\n";

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
