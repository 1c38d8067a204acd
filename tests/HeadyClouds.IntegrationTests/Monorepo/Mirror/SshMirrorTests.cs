using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.IntegrationTests.Monorepo.Mirror;

/// <summary>Runs only where OpenSSH's server is installed (Debian: <c>apt-get install openssh-server</c>).</summary>
public sealed class SshdFactAttribute : FactAttribute
{
    public SshdFactAttribute()
    {
        if (!File.Exists(SshdFixture.Sshd) || !File.Exists(SshdFixture.SshKeygen) || OperatingSystem.IsWindows())
        {
            Skip = $"needs OpenSSH's server ({SshdFixture.Sshd}) and {SshdFixture.SshKeygen}: apt-get install openssh-server";
        }
    }
}

/// <summary>
/// A real sshd on a free loopback port, run as a child process with its own configuration, host key and authorized key
/// in a temporary directory, serving bare repositories; killed and deleted on dispose.
/// </summary>
public sealed class SshdFixture : IAsyncLifetime
{
    public const string Sshd = "/usr/sbin/sshd";
    public const string SshKeygen = "/usr/bin/ssh-keygen";

    private Process? sshd;
    private readonly System.Text.StringBuilder sshdLog = new();

    public string Dir { get; private set; } = "";

    public int Port { get; private set; }

    public string ClientKey { get; private set; } = "";

    public string OtherClientKey { get; private set; } = "";

    /// <summary>The pinned line for this server: <c>[127.0.0.1]:port type key</c>.</summary>
    public string KnownHosts { get; private set; } = "";

    /// <summary>A line for the same address with another host key (a man in the middle, or a rotated key).</summary>
    public string WrongKnownHosts { get; private set; } = "";

    public string Upstream => Path.Combine(Dir, "upstream.git");

    public string Url(string repository) => $"ssh://{Environment.UserName}@127.0.0.1:{Port}{Path.Combine(Dir, repository)}";

    public string Log => sshdLog.ToString();

    public async Task InitializeAsync()
    {
        if (!File.Exists(Sshd))
        {
            return;
        }

        Dir = Directory.CreateTempSubdirectory("heady-sshd-test-").FullName;
        await KeygenAsync("host");
        await KeygenAsync("other-host");
        await KeygenAsync("client");
        await KeygenAsync("other-client");
        File.Copy(Path.Combine(Dir, "client.pub"), Path.Combine(Dir, "authorized_keys"));
        ClientKey = await File.ReadAllTextAsync(Path.Combine(Dir, "client"));
        OtherClientKey = await File.ReadAllTextAsync(Path.Combine(Dir, "other-client"));

        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        KnownHosts = $"[127.0.0.1]:{Port} {PublicKey("host")}\n";
        WrongKnownHosts = $"[127.0.0.1]:{Port} {PublicKey("other-host")}\n";

        var config = Path.Combine(Dir, "sshd_config");
        await File.WriteAllTextAsync(config, $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {Path.Combine(Dir, "host")}
            PidFile {Path.Combine(Dir, "sshd.pid")}
            AuthorizedKeysFile {Path.Combine(Dir, "authorized_keys")}
            AllowUsers {Environment.UserName}
            StrictModes no
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            PermitRootLogin prohibit-password
            AllowTcpForwarding no
            X11Forwarding no
            LogLevel ERROR

            """);

        // As root, sshd wants its privilege separation directory (Debian's service script creates it the same way).
        if (!OperatingSystem.IsWindows() && Environment.UserName == "root" && !Directory.Exists("/run/sshd"))
        {
            Directory.CreateDirectory("/run/sshd");
            File.SetUnixFileMode("/run/sshd", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        var start = new ProcessStartInfo(Sshd) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-D", "-e", "-f", config })
        {
            start.ArgumentList.Add(argument);
        }

        sshd = Process.Start(start)!;
        sshd.ErrorDataReceived += (_, e) =>
        {
            lock (sshdLog)
            {
                sshdLog.AppendLine(e.Data);
            }
        };
        sshd.BeginErrorReadLine();
        sshd.BeginOutputReadLine();
        await WaitForPortAsync();

        var git = new GitCli();
        await MustAsync(git, Dir, "init", "--quiet", "--bare", Upstream);
        await MustAsync(git, Dir, "init", "--quiet", "--bare", Path.Combine(Dir, "target.git"));
        var work = Path.Combine(Dir, "work");
        await MustAsync(git, Dir, "init", "--quiet", "--initial-branch=main", work);
        await File.WriteAllTextAsync(Path.Combine(work, "README.md"), "over ssh\n");
        await MustAsync(git, work, "add", "README.md");
        await MustAsync(git, work, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "first");
        await MustAsync(git, work, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "tag", "-a", "v1", "-m", "v1");
        await MustAsync(git, work, "push", "--quiet", Upstream, "main", "v1");
    }

    public async Task DisposeAsync()
    {
        if (sshd is not null)
        {
            try
            {
                sshd.Kill(entireProcessTree: true);
                await sshd.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
            }

            sshd.Dispose();
        }

        if (Dir.Length > 0)
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    private string PublicKey(string name) =>
        string.Join(' ', File.ReadAllText(Path.Combine(Dir, name + ".pub")).Trim().Split(' ').Take(2));

    private async Task KeygenAsync(string name)
    {
        var start = new ProcessStartInfo(SshKeygen) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", Path.Combine(Dir, name) })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
    }

    private async Task WaitForPortAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (sshd!.HasExited)
            {
                throw new InvalidOperationException($"sshd exited with {sshd.ExitCode}: {Log}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"sshd did not listen on {Port}: {Log}");
    }

    private static async Task MustAsync(GitCli git, string directory, params string[] arguments)
    {
        var result = await git.RunAsync(directory, arguments, CancellationToken.None, TimeSpan.FromMinutes(1));
        Assert.True(result.Succeeded, result.StandardError);
    }
}

/// <summary>SSH key credentials against a real local sshd: the pinned host key is accepted, any other refused.</summary>
public sealed class SshMirrorTests(SshdFixture sshd) : IClassFixture<SshdFixture>, IDisposable
{
    private readonly GitSandbox box = new();

    public void Dispose() => box.Dispose();

    [SshdFact]
    public async Task FetchAndPushOverSshWithThePinnedHostKey()
    {
        var before = SshTempDirectories();
        var credential = new SshKeyCredential(sshd.ClientKey, sshd.KnownHosts);
        var engine = box.Engine();
        var target = new MirrorTarget("ssh-backup", sshd.Url("target.git"), credential, ["refs/heads/main"]);

        var run = await engine.MirrorAsync(box.Mirror, sshd.Url("upstream.git"), credential, [target], RefFilter.Default, GitSandbox.Timeout);

        Assert.Equal(["refs/heads/main", "refs/tags/v1"], run.Fetch.Refs.Keys.Order(StringComparer.Ordinal));
        var result = Assert.Single(run.Targets);
        Assert.True(result.Succeeded, result.Error + sshd.Log);
        Assert.All(result.Updates, u => Assert.Equal(RefUpdateKind.Created, u.Kind));
        Assert.Equal(await box.RefsAsync(sshd.Upstream), await box.RefsAsync(Path.Combine(sshd.Dir, "target.git")));
        // The key and known_hosts files lived only while git ran.
        Assert.Equal(before, SshTempDirectories());
    }

    [SshdFact]
    public async Task AnotherHostKeyIsRefused()
    {
        var credential = new SshKeyCredential(sshd.ClientKey, sshd.WrongKnownHosts);
        var engine = box.Engine();

        var error = await Assert.ThrowsAsync<GitCommandException>(() =>
            engine.FetchAsync(box.Mirror, sshd.Url("upstream.git"), credential, RefFilter.Default, GitSandbox.Timeout));
        var target = await engine.SyncTargetAsync(box.Mirror, new MirrorTarget("ssh-backup", sshd.Url("target.git"), credential, []), RefFilter.Default, GitSandbox.Timeout);

        Assert.Contains("Host key verification failed", error.Message, StringComparison.Ordinal);
        Assert.Contains("Host key verification failed", target.Error, StringComparison.Ordinal);
        AssertNoKeyMaterial(error.Message + error.Result!.StandardError + target.Error);
    }

    [SshdFact]
    public async Task AHostWithoutPinnedKeyIsRefused()
    {
        var credential = new SshKeyCredential(sshd.ClientKey, sshd.KnownHosts.Replace("[127.0.0.1]", "[127.0.0.2]", StringComparison.Ordinal));

        var error = await Assert.ThrowsAsync<GitCommandException>(() =>
            box.Engine().FetchAsync(box.Mirror, sshd.Url("upstream.git"), credential, RefFilter.Default, GitSandbox.Timeout));

        Assert.Contains("Host key verification failed", error.Message, StringComparison.Ordinal);
    }

    [SshdFact]
    public async Task AnUnauthorizedKeyIsRefused()
    {
        var credential = new SshKeyCredential(sshd.OtherClientKey, sshd.KnownHosts);

        var error = await Assert.ThrowsAsync<GitCommandException>(() =>
            box.Engine().FetchAsync(box.Mirror, sshd.Url("upstream.git"), credential, RefFilter.Default, GitSandbox.Timeout));

        Assert.Contains("Permission denied (publickey)", error.Message, StringComparison.Ordinal);
        AssertNoKeyMaterial(error.Message);
    }

    private void AssertNoKeyMaterial(string text)
    {
        foreach (var line in sshd.ClientKey.Split('\n').Concat(sshd.OtherClientKey.Split('\n')).Where(l => l.Length >= 16 && !l.StartsWith("-----", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(line.Trim(), text, StringComparison.Ordinal);
        }
    }

    private static string[] SshTempDirectories() =>
        [.. Directory.GetDirectories(Path.GetTempPath(), "heady-git-ssh-*").Order(StringComparer.Ordinal)];
}
