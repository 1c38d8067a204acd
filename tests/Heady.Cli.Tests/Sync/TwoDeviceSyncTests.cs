using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Heady.Cli.Api;
using Heady.Cli.Sync;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Testing;

namespace Heady.Cli.Tests.Sync;

public sealed class TwoDeviceSyncTests(SyncFixture fx) : IClassFixture<SyncFixture>
{
    private static readonly string[] ReadWrite = ["workspaces:read", "workspaces:write"];

    private async Task<(Device A, Device B)> TwoDevicesAsync(CallerIdentity? user = null, params DelegatingHandler[] handlersOfB)
    {
        user ??= Callers.NewUser(ReadWrite);
        var api = fx.ApiFor(user);
        var workspace = await api.CreateWorkspaceAsync("ws-" + Callers.Unique());
        return (new Device(api, workspace.Id, "laptop"), new Device(fx.ApiFor(user, handlersOfB), workspace.Id, "desktop"));
    }

    [Fact]
    public async Task Creates_edits_renames_and_deletes_travel_both_ways()
    {
        var (a, b) = await TwoDevicesAsync();
        using var _ = a;
        using var __ = b;
        a.Write("notes.txt", "hello");
        a.Write("docs/deep/report.md", "# report");
        a.Write("empty.bin", []);
        var first = await a.SyncAsync();
        Assert.Equal(["docs/deep/report.md", "empty.bin", "notes.txt"], first.Uploaded.Order());
        Assert.Empty(first.Failed);

        var pulled = await b.SyncAsync();
        Assert.Equal(3, pulled.Downloaded.Count);
        Assert.Equal(a.Snapshot(), b.Snapshot());

        // Edit on B, rename and delete on A.
        b.Write("notes.txt", "hello, edited on B");
        Assert.Equal(["notes.txt"], (await b.SyncAsync()).Uploaded);
        File.Move(a.PathOf("docs/deep/report.md"), a.PathOf("docs/report-final.md"));
        File.Delete(a.PathOf("empty.bin"));
        var push = await a.SyncAsync();
        Assert.Equal(["docs/deep/report.md -> docs/report-final.md"], push.Renamed);
        Assert.Equal(["empty.bin"], push.DeletedRemotely);
        Assert.Equal(0, push.ChunksUploaded); // a rename sends no content
        Assert.Equal(["notes.txt"], push.Downloaded); // B's edit came down in the same run
        Assert.Equal("hello, edited on B", a.Read("notes.txt"));

        var pull = await b.SyncAsync();
        // A rename arrives as delete + create; the content is copied from the old file, not downloaded.
        Assert.Equal(["docs/deep/report.md", "empty.bin"], pull.DeletedLocally.Order());
        Assert.Equal(["docs/report-final.md"], pull.Downloaded);
        Assert.Equal(1, pull.ChunksReused);
        Assert.False(Directory.Exists(b.PathOf("docs/deep")));
        Assert.Equal(a.Snapshot(), b.Snapshot());
        Assert.Equal(["docs/report-final.md", "notes.txt"], b.Snapshot().Keys);

        // Deleted files are in the server's trash, not gone.
        var trash = await a.Api.Http.GetFromJsonAsync<JsonElement>($"/api/v1/workspaces/{a.State.WorkspaceId}/trash");
        Assert.Contains(trash.EnumerateArray(), t => t.GetProperty("path").GetString() == "empty.bin");

        // Nothing to do: nothing read, nothing sent.
        var idle = await a.SyncAsync();
        Assert.False(idle.HasChanges);
        Assert.Equal(0, idle.FilesHashed);
    }

    [Fact]
    public async Task Conflicting_edits_keep_both_versions_on_both_devices()
    {
        var (a, b) = await TwoDevicesAsync();
        using var _ = a;
        using var __ = b;
        a.Write("plan.txt", "base");
        await a.SyncAsync();
        await b.SyncAsync();

        a.Write("plan.txt", "edit from A");
        b.Write("plan.txt", "edit from B");
        await a.SyncAsync();
        var conflicted = await b.SyncAsync();

        var conflict = Assert.Single(conflicted.Conflicts);
        Assert.Contains("plan.txt", conflict);
        Assert.Equal("edit from A", b.Read("plan.txt"));
        var copy = Assert.Single(b.Snapshot().Keys, k => k.Contains("conflicted copy", StringComparison.Ordinal));
        Assert.StartsWith("plan (conflicted copy ", copy);
        Assert.EndsWith(" desktop).txt", copy);
        Assert.Equal("edit from B", b.Read(copy));

        await a.SyncAsync();
        Assert.Equal(b.Snapshot(), a.Snapshot());
        Assert.Equal("edit from B", a.Read(copy));
    }

    [Fact]
    public async Task Local_edit_against_remote_delete_keeps_the_edit()
    {
        var (a, b) = await TwoDevicesAsync();
        using var _ = a;
        using var __ = b;
        a.Write("keep.txt", "v1");
        await a.SyncAsync();
        await b.SyncAsync();

        File.Delete(a.PathOf("keep.txt"));
        await a.SyncAsync();
        b.Write("keep.txt", "v2 from B");
        await b.SyncAsync();
        await a.SyncAsync();

        Assert.Equal("v2 from B", a.Read("keep.txt"));
        Assert.Equal(a.Snapshot(), b.Snapshot());
    }

    [Fact]
    public async Task A_one_byte_edit_in_a_large_file_sends_about_one_chunk()
    {
        var (a, b) = await TwoDevicesAsync();
        using var _ = a;
        using var __ = b;
        var data = new byte[12 * 1024 * 1024];
        new Random(8).NextBytes(data);
        a.Write("big.bin", data);
        var first = await a.SyncAsync();
        var chunkCount = a.State.Get("big.bin")!.Chunks.Count;
        Assert.True(chunkCount >= 6, $"expected several chunks, got {chunkCount}");
        Assert.Equal(chunkCount, first.ChunksUploaded);
        await b.SyncAsync();

        data[7_000_000] ^= 0xFF;
        a.Write("big.bin", data);
        var edit = await a.SyncAsync();
        Assert.InRange(edit.ChunksUploaded, 1, 2);
        Assert.Equal(edit.ChunksUploaded, edit.ChunksStoredByServer); // the server's own count of new chunks
        Assert.True(edit.BytesUploaded <= 2 * HeadyClouds.Sync.Core.Chunking.ChunkerOptions.Default.MaxSize);

        // The other device downloads only what changed and takes the rest from its own copy.
        var pull = await b.SyncAsync();
        Assert.InRange(pull.ChunksDownloaded, 1, 2);
        Assert.Equal(chunkCount - pull.ChunksDownloaded, pull.ChunksReused);
        Assert.Equal(data, File.ReadAllBytes(b.PathOf("big.bin")));
    }

    [Fact]
    public async Task An_interrupted_push_resumes_without_resending_chunks()
    {
        var user = Callers.NewUser(ReadWrite);
        var interrupt = new FailCommits();
        var api = fx.ApiFor(user, interrupt);
        var workspace = await api.CreateWorkspaceAsync("ws-" + Callers.Unique());
        using var a = new Device(api, workspace.Id, "laptop");
        var data = new byte[3 * 1024 * 1024];
        new Random(3).NextBytes(data);
        a.Write("video.bin", data);
        a.Write("small.txt", "small");

        interrupt.Enabled = true;
        var cut = await Assert.ThrowsAsync<CliException>(() => a.SyncAsync());
        Assert.Equal(ExitCodes.Network, cut.ExitCode);
        Assert.Null(a.State.Get("video.bin"));
        // Nothing is visible before the commit.
        Assert.Empty((await api.ChangesAsync(workspace.Id, null)).Changes);

        interrupt.Enabled = false;
        var resumed = await a.SyncAsync();
        Assert.Equal(0, resumed.ChunksUploaded);
        Assert.Equal(["small.txt", "video.bin"], resumed.Uploaded.Order());

        using var b = new Device(fx.ApiFor(user), workspace.Id, "desktop");
        await b.SyncAsync();
        Assert.Equal(a.Snapshot(), b.Snapshot());
    }

    [Fact]
    public async Task An_upload_cut_between_packs_resumes_with_only_the_rest()
    {
        var user = Callers.NewUser(ReadWrite);
        var cut = new FailSecondPack();
        var api = fx.ApiFor(user, cut);
        var workspace = await api.CreateWorkspaceAsync("ws-" + Callers.Unique());
        using var a = new Device(api, workspace.Id, "laptop"); // 4 MiB packs
        var data = new byte[20 * 1024 * 1024];
        new Random(20).NextBytes(data);
        a.Write("large.bin", data);

        await Assert.ThrowsAsync<CliException>(() => a.SyncAsync());
        var total = FastCdcChunks(data);
        Assert.InRange(cut.FirstPackRecords, 1, total - 1);

        var resumed = await a.SyncAsync();
        Assert.Equal(total - cut.FirstPackRecords, resumed.ChunksUploaded);
        Assert.Equal(resumed.ChunksUploaded, resumed.ChunksStoredByServer);
        Assert.Equal(["large.bin"], resumed.Uploaded);
    }

    private static int FastCdcChunks(byte[] data) => HeadyClouds.Sync.Core.Chunking.FastCdc.Split(data).Count;

    /// <summary>The first chunk pack goes through; the connection drops on the second.</summary>
    private sealed class FailSecondPack : DelegatingHandler
    {
        private int packs;

        public int FirstPackRecords { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/chunks", StringComparison.Ordinal))
            {
                if (++packs == 2)
                {
                    throw new HttpRequestException("connection reset (simulated)");
                }

                if (packs > 1)
                {
                    return await base.SendAsync(request, cancellationToken);
                }

                var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
                using var reader = new HeadyClouds.Sync.Core.Chunking.ChunkPackReader(new MemoryStream(body));
                await foreach (var _ in reader.ReadAllAsync(cancellationToken))
                {
                    FirstPackRecords++;
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task Ignored_files_stay_local()
    {
        var (a, b) = await TwoDevicesAsync();
        using var _ = a;
        using var __ = b;
        a.Write(".headyignore", "*.tmp\nbuild/\n");
        a.Write("x.tmp", "scratch");
        a.Write("build/out.bin", "artifact");
        a.Write("src/main.c", "int main;");
        var push = await a.SyncAsync();
        Assert.Equal([".headyignore", "src/main.c"], push.Uploaded.Order());

        await b.SyncAsync();
        Assert.Equal([".headyignore", "src/main.c"], b.Snapshot().Keys);
    }

    [Fact]
    public async Task Hostile_names_from_the_server_never_write_outside_the_folder()
    {
        using var outside = new Local.TempFolder();
        var escape = Path.Combine(outside.Path, "escaped.txt");
        var rename = new RenamePaths(new Dictionary<string, string>
        {
            ["evil1.txt"] = "../evil1.txt",
            ["evil2.txt"] = escape,
            ["evil3.txt"] = ".heady/state.db",
            ["evil4.txt"] = "sub/../../evil4.txt",
        });
        var (a, b) = await TwoDevicesAsync(null, rename);
        using var _ = a;
        using var __ = b;
        foreach (var name in new[] { "evil1.txt", "evil2.txt", "evil3.txt", "evil4.txt", "fine.txt" })
        {
            a.Write(name, "payload " + name);
        }

        await a.SyncAsync();
        var parent = Path.GetDirectoryName(b.Root)!;
        var pull = await b.SyncAsync();

        Assert.Equal(["fine.txt"], pull.Downloaded);
        Assert.Equal(4, pull.Failed.Count);
        Assert.All(pull.Failed, f => Assert.Contains("refused", f.Reason));
        Assert.False(File.Exists(escape));
        Assert.False(File.Exists(Path.Combine(parent, "evil1.txt")));
        Assert.False(File.Exists(Path.Combine(parent, "evil4.txt")));
        Assert.Equal(["fine.txt"], b.Snapshot().Keys);
        Assert.Null(b.State.Cursor); // a run with refused entries does not advance: nothing is silently skipped for good
    }

    [Fact]
    public async Task A_symlinked_folder_is_not_written_through()
    {
        using var outside = new Local.TempFolder();
        var (a, b) = await TwoDevicesAsync();
        using var _ = a;
        using var __ = b;
        a.Write("docs/a.txt", "content");
        await a.SyncAsync();
        Directory.CreateSymbolicLink(b.PathOf("docs"), outside.Path);

        var pull = await b.SyncAsync();

        Assert.Empty(Directory.EnumerateFileSystemEntries(outside.Path));
        Assert.Contains(pull.Failed, f => f.Path == "docs/a.txt" && f.Reason.Contains("symbolic link"));
        Assert.Contains(pull.Skipped, s => s.Path == "docs");
    }

    [Fact]
    public async Task Versions_and_restore()
    {
        var (a, _) = await TwoDevicesAsync();
        using var __ = a;
        a.Write("essay.txt", "first draft");
        await a.SyncAsync();
        a.Write("essay.txt", "second draft");
        await a.SyncAsync();
        var workspace = a.State.WorkspaceId!.Value;

        var versions = await a.Api.VersionsAsync(workspace, "essay.txt");
        Assert.Equal(2, versions.Count);
        await a.Api.RestoreAsync(workspace, "essay.txt", versions[1].Id);
        var pull = await a.SyncAsync(SyncDirection.Pull);

        Assert.Equal(["essay.txt"], pull.Downloaded);
        Assert.Equal("first draft", a.Read("essay.txt"));
        Assert.Equal(3, (await a.Api.VersionsAsync(workspace, "essay.txt")).Count);
    }

    [Fact]
    public async Task Errors_say_what_to_do()
    {
        var viewerApi = fx.ApiFor(Callers.NewUser("workspaces:read"));
        var error = await Assert.ThrowsAsync<HeadyApiException>(() => viewerApi.CreateWorkspaceAsync("nope"));
        Assert.Equal(HttpStatusCode.Forbidden, error.Status);
        Assert.Equal(ExitCodes.Auth, error.ExitCode);
        Assert.Contains("scope", error.Message);

        var missing = await Assert.ThrowsAsync<CliException>(() => fx.ApiFor(Callers.NewUser(ReadWrite)).ResolveWorkspaceAsync("Nowhere"));
        Assert.Equal(ExitCodes.NotFound, missing.ExitCode);
        Assert.Contains("heady workspace create", missing.Message);
    }

    /// <summary>Lets chunk uploads through and fails the commit, like a connection cut between the two.</summary>
    [Fact]
    public async Task Many_small_files_are_downloaded_in_chunk_fetch_batches_not_a_request_each()
    {
        var counter = new CountRequests();
        var (a, b) = await TwoDevicesAsync(null, counter);
        using var _ = a;
        using var __ = b;
        for (var i = 0; i < 300; i++)
        {
            a.Write($"d{i % 7}/f{i}.txt", $"small file {i}");
        }

        a.Write("same-1.txt", "identical");
        a.Write("same-2.txt", "identical"); // one chunk for two files: fetched once
        await a.SyncAsync();

        var pulled = await b.SyncAsync();

        Assert.Empty(pulled.Failed);
        Assert.Equal(302, pulled.Downloaded.Count);
        Assert.Equal(a.Snapshot(), b.Snapshot());
        Assert.Equal(301, pulled.ChunksDownloaded); // the shared chunk travels once
        Assert.Equal(1, counter.Count(p => p.EndsWith("/chunks/fetch", StringComparison.Ordinal)));
        Assert.Equal(0, counter.Count(p => p.Contains("/chunks/", StringComparison.Ordinal) && !p.EndsWith("/fetch", StringComparison.Ordinal))); // no chunk GET on its own
    }

    [Fact]
    public async Task Chunks_missing_from_a_partly_local_file_come_in_one_chunk_fetch_not_a_request_each()
    {
        var counter = new CountRequests();
        var (a, b) = await TwoDevicesAsync(null, counter);
        using var _ = a;
        using var __ = b;
        var data = new byte[12 * 1024 * 1024];
        new Random(12).NextBytes(data);
        a.Write("big.bin", data);
        await a.SyncAsync();
        await b.SyncAsync();
        var chunkCount = a.State.Get("big.bin")!.Chunks.Count;

        // Edits spread over the file: several chunks change, the others stay on B's disk.
        foreach (var offset in new[] { 1_500_000, 4_500_000, 7_500_000, 10_500_000 })
        {
            data[offset] ^= 0xFF;
        }

        a.Write("big.bin", data);
        var edit = await a.SyncAsync();
        Assert.True(edit.ChunksUploaded >= 3, $"expected several changed chunks, got {edit.ChunksUploaded}");
        var fetchesBefore = counter.Count(p => p.EndsWith("/chunks/fetch", StringComparison.Ordinal));
        var getsBefore = counter.Count(IsChunkGet);

        var pull = await b.SyncAsync();

        Assert.Equal(data, File.ReadAllBytes(b.PathOf("big.bin")));
        Assert.Equal(edit.ChunksUploaded, pull.ChunksDownloaded);
        Assert.Equal(chunkCount - pull.ChunksDownloaded, pull.ChunksReused);
        Assert.Equal(fetchesBefore + 1, counter.Count(p => p.EndsWith("/chunks/fetch", StringComparison.Ordinal)));
        Assert.Equal(getsBefore, counter.Count(IsChunkGet));
    }

    private static bool IsChunkGet(string path) => path.Contains("/chunks/", StringComparison.Ordinal) && !path.EndsWith("/fetch", StringComparison.Ordinal) && !path.EndsWith("/missing", StringComparison.Ordinal);

    private sealed class CountRequests : DelegatingHandler
    {
        private readonly System.Collections.Concurrent.ConcurrentBag<string> paths = [];

        public int Count(Func<string, bool> path) => paths.Count(path);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            paths.Add(request.RequestUri!.AbsolutePath);
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class FailCommits : DelegatingHandler
    {
        public bool Enabled { get; set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Enabled && request.RequestUri!.AbsolutePath.EndsWith("/files/commit", StringComparison.Ordinal)
                ? throw new HttpRequestException("connection reset (simulated)")
                : base.SendAsync(request, cancellationToken);
    }

    /// <summary>A compromised server: rewrites paths in change-feed answers.</summary>
    private sealed class RenamePaths(Dictionary<string, string> map) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (!request.RequestUri!.AbsolutePath.EndsWith("/changes", StringComparison.Ordinal) || !response.IsSuccessStatusCode)
            {
                return response;
            }

            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!;
            foreach (var change in body["changes"]!.AsArray())
            {
                if (map.TryGetValue(change!["path"]!.GetValue<string>(), out var hostile))
                {
                    change["path"] = hostile;
                }
            }

            response.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            return response;
        }
    }
}
