using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace HeadyClouds.AppHost.Tests;

/// <summary>
/// Two `heady` processes (the built CLI, each with its own config directory and folder) syncing through the whole
/// stack: TLS pinned with <c>--ca</c> to the gateway's generated certificate, real API tokens, the gateway's
/// introspection and rate limits, HeadyMe.Sync on real PostgreSQL, Redis and S3.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class HeadyCliEndToEndTests(StackFixture stack) : IDisposable
{
    private static readonly string[] Scopes = ["workspaces:read", "workspaces:write"];

    private readonly string work = Directory.CreateTempSubdirectory("heady-cli-e2e-").FullName;

    private string CaFile => Path.Combine(stack.StateDirectory, "gateway-tls", "cert.pem");

    public void Dispose() => Directory.Delete(work, recursive: true);

    /// <summary>One `heady` installation: its own HEADY_CONFIG_DIR and its own synced folder.</summary>
    private sealed class Device(string name, string home)
    {
        public string Name { get; } = name;

        public string Token { get; set; } = "";

        public string Folder { get; } = Directory.CreateDirectory(Path.Combine(home, "folder")).FullName;

        private string ConfigDir { get; } = Path.Combine(home, "config");

        public string PathOf(string relative) => Path.Combine(Folder, relative);

        public void Write(string relative, byte[] content)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(PathOf(relative))!);
            File.WriteAllBytes(PathOf(relative), content);
        }

        /// <summary>Every synced file's bytes by relative path ('/'-separated), .heady/ excluded.</summary>
        public SortedDictionary<string, byte[]> Snapshot() => new(
            Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(Folder, p).Replace('\\', '/'))
                .Where(p => !p.StartsWith(".heady/", StringComparison.Ordinal))
                .ToDictionary(p => p, p => File.ReadAllBytes(PathOf(p))),
            StringComparer.Ordinal);

        public async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
        {
            // The built tool as a separate process, as a user runs it: the dotnet host of this runtime runs heady.dll.
            var dotnet = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet"));
            var start = new ProcessStartInfo(dotnet)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "heady.dll"));
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["HEADY_CONFIG_DIR"] = ConfigDir;
            start.Environment.Remove("HEADY_TOKEN");
            start.Environment["HEADY_DEBUG"] = "1";
            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"heady {string.Join(' ', args)} ({Name}) did not finish in 3 minutes: {await stderr}");
            }

            return (process.ExitCode, await stdout, await stderr);
        }

        /// <summary>Runs a command that must succeed and returns its --json result.</summary>
        public async Task<JsonElement> JsonAsync(params string[] args)
        {
            var (code, stdout, stderr) = await RunAsync([.. args, "--json"]);
            Assert.True(code == 0, $"heady {string.Join(' ', args)} ({Name}) exited {code}: {stderr}");
            return JsonDocument.Parse(stdout).RootElement.Clone();
        }

        public Task<JsonElement> SyncAsync() => JsonAsync("sync", Folder);
    }

    private async Task<string> NewTokenAsync()
    {
        using var admin = stack.Gateway(stack.AdminToken);
        var user = await admin.PostAsJsonAsync("/api/v1/users", new { username = "cli" + Guid.NewGuid().ToString("N")[..8] });
        Assert.Equal(HttpStatusCode.Created, user.StatusCode);
        var userId = (await user.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var token = await admin.PostAsJsonAsync("/api/v1/tokens", new { name = "heady", userId, scopes = Scopes });
        Assert.Equal(HttpStatusCode.Created, token.StatusCode);
        return (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    private async Task<Device> LoggedInAsync(string name)
    {
        var device = new Device(name, Directory.CreateDirectory(Path.Combine(work, name)).FullName);
        device.Token = await NewTokenAsync();
        var login = await device.JsonAsync("login", "--gateway", stack.GatewayHttps.ToString(), "--token", device.Token, "--ca", CaFile);
        Assert.Equal("user", login.GetProperty("role").GetString());
        return device;
    }

    /// <summary>Device A's user creates a workspace and shares it with device B's user (by id, as non-admins do); both folders bound.</summary>
    private async Task<(Device A, Device B)> SharedWorkspaceAsync()
    {
        var a = await LoggedInAsync("a");
        var b = await LoggedInAsync("b");
        var name = "Shared " + Guid.NewGuid().ToString("N")[..6];
        await a.JsonAsync("workspace", "create", name);
        var bUser = (await b.JsonAsync("status")).GetProperty("userId").GetString()!;
        var shared = await a.JsonAsync("workspace", "share", name, bUser, "--role", "editor");
        Assert.Equal("editor", shared.GetProperty("role").GetString());
        Assert.Contains((await b.JsonAsync("workspace", "list")).EnumerateArray(), w => w.GetProperty("name").GetString() == name && w.GetProperty("role").GetString() == "editor");

        await a.JsonAsync("sync", a.Folder, "--workspace", name, "--device", "laptop");
        await b.JsonAsync("sync", b.Folder, "--workspace", name, "--device", "desktop");
        return (a, b);
    }

    private static string[] Strings(JsonElement report, string property) =>
        [.. report.GetProperty(property).EnumerateArray().Select(e => e.GetString()!)];

    [Fact]
    public async Task Create_modify_rename_delete_on_one_device_arrive_byte_for_byte_on_the_other()
    {
        var (a, b) = await SharedWorkspaceAsync();

        // Create: small files in folders, and a 12 MiB file (several chunks: a chunk pack up, a streamed download). Seeded:
        // content-defined chunks of random bytes vary in number, and a 3 MiB random file once came out as one chunk.
        // These bytes make at least six (Heady.Cli.Tests' one-byte-edit test asserts it for the same seed and size).
        var notes = "meeting notes\n"u8.ToArray();
        var photo = new byte[12 << 20];
        new Random(8).NextBytes(photo);
        a.Write("docs/notes.txt", notes);
        a.Write("photos/2026/beach.raw", photo);
        a.Write("empty.bin", []);
        var up = await a.SyncAsync();
        Assert.Equal(["docs/notes.txt", "empty.bin", "photos/2026/beach.raw"], Strings(up, "uploaded").Order(StringComparer.Ordinal));
        Assert.True(up.GetProperty("chunksUploaded").GetInt32() >= 3);

        var status = await b.JsonAsync("status", b.Folder);
        Assert.Equal(3, status.GetProperty("folder").GetProperty("remoteChanges").GetInt32());
        Assert.Equal(0, status.GetProperty("folder").GetProperty("localChanges").GetInt32());
        var down = await b.SyncAsync();
        Assert.Equal(3, Strings(down, "downloaded").Length);
        Assert.Equal(a.Snapshot(), b.Snapshot());

        // Small files come down in batches (POST chunks/fetch): the gateway routes it (the CLI would quietly fall back).
        using (var gateway = stack.Gateway(b.Token))
        {
            var workspace = status.GetProperty("folder").GetProperty("workspaceId").GetGuid();
            var fetch = await gateway.PostAsJsonAsync($"/api/v1/workspaces/{workspace}/chunks/fetch", new { chunkIds = new[] { Convert.ToHexStringLower(SHA256.HashData(notes)) } });
            Assert.Equal(HttpStatusCode.OK, fetch.StatusCode);
            Assert.Equal("application/vnd.heady.chunkpack", fetch.Content.Headers.ContentType?.MediaType);
            Assert.Equal(notes, (await fetch.Content.ReadAsByteArrayAsync())[36..]); // one record: 32-byte hash + length + data
        }

        // Modify: a new size so the stat comparison sees it at once; 1 byte changed in the big file.
        a.Write("docs/notes.txt", "meeting notes, revised\n"u8.ToArray());
        photo[1 << 20] ^= 0xFF;
        a.Write("photos/2026/beach.raw", photo);
        File.SetLastWriteTimeUtc(a.PathOf("photos/2026/beach.raw"), DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(2, (await a.JsonAsync("status", a.Folder)).GetProperty("folder").GetProperty("localChanges").GetInt32());
        Assert.Equal(2, Strings(await a.SyncAsync(), "uploaded").Length);
        down = await b.SyncAsync();
        Assert.Equal(2, Strings(down, "downloaded").Length);
        Assert.True(down.GetProperty("chunksReused").GetInt32() >= 1, "the unchanged chunks of the big file come from B's disk");
        Assert.Equal(a.Snapshot(), b.Snapshot());

        // Rename (a server-side move, no upload) and delete (to the server's trash), then back from B to A.
        File.Move(a.PathOf("photos/2026/beach.raw"), a.PathOf("photos/beach-2026.raw"));
        File.Delete(a.PathOf("empty.bin"));
        var moved = await a.SyncAsync();
        Assert.Equal(0, moved.GetProperty("chunksUploaded").GetInt32());
        Assert.Equal(["empty.bin"], Strings(moved, "deletedRemotely"));
        down = await b.SyncAsync();
        Assert.Equal(0, down.GetProperty("chunksDownloaded").GetInt32());
        Assert.Contains("empty.bin", Strings(down, "deletedLocally"));
        Assert.False(File.Exists(b.PathOf("empty.bin")));
        Assert.False(Directory.Exists(b.PathOf("photos/2026")), "a folder emptied by remote changes is removed");
        Assert.Equal(photo, File.ReadAllBytes(b.PathOf("photos/beach-2026.raw")));
        Assert.Equal(a.Snapshot(), b.Snapshot());

        b.Write("from-b.txt", "hello from b"u8.ToArray());
        File.Delete(b.PathOf("docs/notes.txt"));
        await b.SyncAsync();
        await a.SyncAsync();
        Assert.Equal(["from-b.txt", "photos/beach-2026.raw"], a.Snapshot().Keys);
        Assert.Equal(a.Snapshot(), b.Snapshot());

        // Nothing pending anywhere, and B's versions of a file it did not write are visible to it.
        foreach (var device in new[] { a, b })
        {
            var folder = (await device.JsonAsync("status", device.Folder)).GetProperty("folder");
            Assert.Equal((0, 0, 2), (folder.GetProperty("localChanges").GetInt32(), folder.GetProperty("remoteChanges").GetInt32(), folder.GetProperty("files").GetInt32()));
        }

        Assert.True((await b.JsonAsync("versions", b.PathOf("photos/beach-2026.raw"))).GetArrayLength() >= 1);
    }

    [Fact]
    public async Task Conflicting_edits_on_both_devices_keep_both_versions_on_both_disks()
    {
        var (a, b) = await SharedWorkspaceAsync();
        a.Write("plan.txt", "v1"u8.ToArray());
        await a.SyncAsync();
        await b.SyncAsync();

        var ours = "edited on the laptop"u8.ToArray();
        var theirs = "edited on the desktop, longer"u8.ToArray();
        a.Write("plan.txt", ours);
        b.Write("plan.txt", theirs);
        await a.SyncAsync(); // first to commit wins the path
        var conflicted = await b.SyncAsync();
        var copy = Assert.Single(Strings(conflicted, "conflicts"));
        Assert.Contains("conflicted copy", copy);
        await a.SyncAsync();

        foreach (var device in new[] { a, b })
        {
            var files = device.Snapshot();
            Assert.Equal(2, files.Count);
            Assert.Equal(ours, files["plan.txt"]);
            var (name, content) = Assert.Single(files, f => f.Key != "plan.txt");
            Assert.StartsWith("plan (conflicted copy ", name);
            Assert.Contains("desktop", name);
            Assert.Equal(theirs, content);
        }
    }

    [Fact]
    public async Task Login_refuses_an_untrusted_certificate_and_a_bad_token_and_saves_nothing()
    {
        var device = new Device("x", Directory.CreateDirectory(Path.Combine(work, "x")).FullName);
        var token = await NewTokenAsync();

        // Without --ca the generated certificate is in no trust store: refused (exit 6), pointing at --ca.
        var (code, _, stderr) = await device.RunAsync("login", "--gateway", stack.GatewayHttps.ToString(), "--token", token);
        Assert.True(code == 6, stderr);
        Assert.Contains("--ca", stderr);

        (code, _, stderr) = await device.RunAsync("login", "--gateway", stack.GatewayHttps.ToString(), "--token", "hc_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), "--ca", CaFile);
        Assert.True(code == 4, stderr);

        (code, _, stderr) = await device.RunAsync("status");
        Assert.True(code == 3, stderr); // not logged in: nothing was saved
    }
}
