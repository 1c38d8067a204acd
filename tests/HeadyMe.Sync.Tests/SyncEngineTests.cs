using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using static HeadyMe.Sync.Tests.HeadyMeFixture;

namespace HeadyMe.Sync.Tests;

public sealed class SyncEngineTests(HeadyMeFixture fx) : IClassFixture<HeadyMeFixture>
{
    private static byte[] Random(int size) => System.Security.Cryptography.RandomNumberGenerator.GetBytes(size);

    [Fact]
    public async Task TwoDevicesLongPollWakesAndBothHoldIdenticalBytes()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var cursor = await fx.CursorAsync(ws, alice);
        var content = Random(300_000);

        // Device B waits first; device A then uploads and commits.
        var poll = fx.GetAsync($"{Ws(ws)}/changes/poll?cursor={cursor}&timeout=60", alice);
        Assert.False(poll.IsCompleted);
        var version = await fx.PutFileAsync(ws, alice, "docs/report.bin", content, device: "device-a");

        var changes = (await (await poll).AssertJsonAsync(HttpStatusCode.OK)).Deserialize<ChangesResponse>(Json)!;
        var change = Assert.Single(changes.Changes);
        Assert.Equal("docs/report.bin", change.Path);
        Assert.False(change.Deleted);
        Assert.Equal(version.Id, change.Version!.Id);
        Assert.Equal(content, await fx.DownloadAsync(ws, alice, "docs/report.bin"));
        // An empty versionId (what a client formats from a null) means the current version.
        Assert.Equal(content, await (await fx.GetAsync($"{Ws(ws)}/files/content?path=docs/report.bin&versionId=", alice)).Content.ReadAsByteArrayAsync());

        // Chunk by chunk, as a client that reuses local chunks would.
        var info = await fx.GetJsonAsync<FileDetails>($"{Ws(ws)}/files/info?path=docs/report.bin", alice);
        var assembled = new List<byte>();
        foreach (var chunk in info.Chunks)
        {
            var response = await fx.GetAsync($"{Ws(ws)}/chunks/{chunk.Id}", alice);
            await response.AssertStatusAsync(HttpStatusCode.OK);
            Assert.Contains("immutable", response.Headers.CacheControl!.ToString());
            assembled.AddRange(await response.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(content, assembled.ToArray());
    }

    [Fact]
    public async Task LongPollWithoutChangesReturnsTheSameCursorAfterTheTimeout()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var cursor = await fx.CursorAsync(ws, alice);

        var changes = await fx.GetJsonAsync<ChangesResponse>($"{Ws(ws)}/changes/poll?cursor={cursor}&timeout=1", alice);

        Assert.Empty(changes.Changes);
        Assert.Equal(cursor, changes.Cursor);
    }

    [Fact]
    public async Task ConcurrentEditsGiveOneConflictAndACopyWithoutLosingBytes()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var v1 = await fx.PutFileAsync(ws, alice, "report.docx", Encoding.UTF8.GetBytes("original"));
        var laptop = Encoding.UTF8.GetBytes("edited on the laptop");
        var phone = Encoding.UTF8.GetBytes("edited on the phone");
        await fx.UploadAsync(ws, alice, [laptop, phone]);

        var responses = await Task.WhenAll(
            fx.CommitAsync(ws, alice, FileRequest("report.docx", laptop, v1.Id, "laptop")),
            fx.CommitAsync(ws, alice, FileRequest("report.docx", phone, v1.Id, "phone")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        var conflict = await Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Conflict).AssertProblemAsync(HttpStatusCode.Conflict);
        var copyPath = conflict.GetProperty("conflictCopyPath").GetString()!;
        Assert.Matches(@"^report \(conflicted copy \d{4}-\d{2}-\d{2} \d{6} (laptop|phone)\)\.docx$", copyPath);
        var current = conflict.GetProperty("current").Deserialize<FileVersionInfo>(Json)!;

        var winner = await fx.DownloadAsync(ws, alice, "report.docx");
        var loser = await fx.DownloadAsync(ws, alice, copyPath);
        Assert.Equal(current.ContentHash, Id(winner));
        Assert.Equal([Encoding.UTF8.GetString(laptop), Encoding.UTF8.GetString(phone)],
            new[] { Encoding.UTF8.GetString(winner), Encoding.UTF8.GetString(loser) }.Order());
    }

    [Fact]
    public async Task SameNewFileFromTwoDevicesIsNotAConflict()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var content = Encoding.UTF8.GetBytes("same bytes");
        var first = await fx.PutFileAsync(ws, alice, "same.txt", content, device: "a");

        var second = await (await fx.CommitAsync(ws, alice, FileRequest("same.txt", content, null, "b"))).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal(first.Id, second.Deserialize<FileVersionInfo>(Json)!.Id);
    }

    [Fact]
    public async Task EditVersusDeleteKeepsTheEdit()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var v1 = await fx.PutFileAsync(ws, alice, "notes.txt", Encoding.UTF8.GetBytes("v1"));
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/files?path=notes.txt&baseVersionId={v1.Id}", alice)).AssertStatusAsync(HttpStatusCode.NoContent);

        var edit = await fx.PutFileAsync(ws, alice, "notes.txt", Encoding.UTF8.GetBytes("edited offline"), v1.Id);

        Assert.Equal("edited offline", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "notes.txt")));
        Assert.Empty(await fx.GetJsonAsync<TrashItem[]>($"{Ws(ws)}/trash", alice));
        Assert.Equal(edit.Id, (await fx.GetJsonAsync<FileDetails>($"{Ws(ws)}/files/info?path=notes.txt", alice)).Version.Id);
    }

    [Fact]
    public async Task DeleteWithAStaleBaseIsAConflictAndDeletesNothing()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var v1 = await fx.PutFileAsync(ws, alice, "a.txt", Encoding.UTF8.GetBytes("1"));
        var v2 = await fx.PutFileAsync(ws, alice, "a.txt", Encoding.UTF8.GetBytes("2"), v1.Id);

        var problem = await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/files?path=a.txt&baseVersionId={v1.Id}", alice)).AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal(v2.Id, problem.GetProperty("current").GetProperty("id").GetGuid());
        Assert.Equal("2", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "a.txt")));
    }

    [Fact]
    public async Task BatchCommitReportsEachFilesOutcomeInOrder()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var existing = await fx.PutFileAsync(ws, alice, "existing.txt", Encoding.UTF8.GetBytes("current"));
        var files = Enumerable.Range(0, 300).Select(i => Encoding.UTF8.GetBytes($"small file {i}")).ToArray();
        var stale = Encoding.UTF8.GetBytes("stale edit");
        await fx.UploadAsync(ws, alice, [.. files, stale]);
        var requests = files.Select((f, i) => FileRequest($"batch/f{i:D3}.txt", f, null)).ToList();
        requests.Add(FileRequest("../escape.txt", files[0], null));
        requests.Add(FileRequest("existing.txt", stale, Guid.CreateVersion7()));
        requests.Add(FileRequest("existing.txt", Encoding.UTF8.GetBytes("current"), null) with { Path = "unchanged-elsewhere.txt", Chunks = [Id(Encoding.UTF8.GetBytes("never uploaded"))] , Size = 14 });

        var response = await fx.PostAsync($"{Ws(ws)}/files/commit", alice, new CommitBatchRequest(requests));

        var batch = (await response.AssertJsonAsync(HttpStatusCode.OK)).Deserialize<CommitBatchResponse>(Json)!;
        Assert.Equal(requests.Count, batch.Results.Count);
        Assert.All(batch.Results.Take(300), r => Assert.Equal(CommitOutcomes.Committed, r.Outcome));
        Assert.Equal(CommitOutcomes.Rejected, batch.Results[300].Outcome);
        Assert.Contains("'..'", batch.Results[300].Error);
        Assert.Equal(CommitOutcomes.Conflict, batch.Results[301].Outcome);
        Assert.Equal(existing.Id, batch.Results[301].Current!.Id);
        Assert.Equal(CommitOutcomes.Rejected, batch.Results[302].Outcome);
        Assert.Single(batch.Results[302].MissingChunks!);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"batch/f{i:D3}.txt"), batch.Results.Take(300).Select(r => r.Path));
        Assert.Equal("small file 123", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "batch/f123.txt")));
        var listed = await fx.GetJsonAsync<FileListResponse>($"{Ws(ws)}/files", alice);
        Assert.Equal(302, listed.Files.Count); // 300 + existing + its conflict copy
        Assert.Equal(batch.Cursor, listed.Cursor);
    }

    [Fact]
    public async Task CommitBeforeTheChunksAreUploadedIsRejectedNamingThem()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var content = Random(100_000);

        var problem = await (await fx.CommitAsync(ws, alice, FileRequest("x.bin", content, null))).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(Split(content).Select(Id).Order(), problem.GetProperty("missingChunks").EnumerateArray().Select(e => e.GetString()!).Order());
    }

    [Fact]
    public async Task InterruptedUploadLeavesNothingVisibleAndTheRetryResumes()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var content = Random(200_000);
        var chunks = Split(content);
        var cursor = await fx.CursorAsync(ws, alice);

        // Another instance of the service takes some chunks, then dies (with its caches) before the client commits.
        var doomed = fx.Factory.WithWebHostBuilder(_ => { });
        using (var doomedClient = doomed.CreateClient())
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"{Ws(ws)}/chunks") { Content = Pack(chunks.Take(2)) })
        {
            request.Headers.TryAddWithoutValidation("X-Heady-Identity", fx.Assertion(alice));
            var first = (await (await doomedClient.SendAsync(request)).AssertJsonAsync(HttpStatusCode.OK)).Deserialize<ChunkUploadResponse>(Json)!;
            Assert.Equal(2, first.Stored.Count);
        }

        await doomed.DisposeAsync();

        await (await fx.GetAsync($"{Ws(ws)}/files/info?path=big.bin", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty((await fx.GetJsonAsync<ChangesResponse>($"{Ws(ws)}/changes?cursor={cursor}", alice)).Changes);
        Assert.Empty((await fx.GetJsonAsync<FileListResponse>($"{Ws(ws)}/files", alice)).Files);

        // The retry asks what is missing and sends only that.
        var missing = await (await fx.PostAsync($"{Ws(ws)}/chunks/missing", alice, new MissingChunksRequest(chunks.Select(Id).ToArray())))
            .AssertJsonAsync(HttpStatusCode.OK);
        var missingIds = missing.Deserialize<MissingChunksResponse>(Json)!.Missing;
        Assert.Equal(chunks.Skip(2).Select(Id), missingIds);
        var second = await fx.UploadAsync(ws, alice, chunks.Where(c => missingIds.Contains(Id(c))));
        Assert.Equal(missingIds, second.Stored);
        await (await fx.CommitAsync(ws, alice, FileRequest("big.bin", content, null))).AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal(content, await fx.DownloadAsync(ws, alice, "big.bin"));
    }

    [Fact]
    public async Task UploadsAreIdempotentAndDedupedPerWorkspace()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var other = await fx.CreateWorkspaceAsync(alice);
        var chunk = Random(1000);

        Assert.Single((await fx.UploadAsync(ws, alice, [chunk, chunk])).Stored);
        Assert.Single((await fx.UploadAsync(ws, alice, [chunk])).AlreadyPresent);
        // Another workspace never shares the chunk (cross-workspace dedup would leak).
        Assert.Single((await fx.UploadAsync(other, alice, [chunk])).Stored);
    }

    [Fact]
    public async Task AChunkWhoseBytesDoNotMatchItsHashIsRefused()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var good = Random(500);
        var body = Pack([good]);
        var bytes = await body.ReadAsByteArrayAsync();
        bytes[^1] ^= 0x01;
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(SyncApi.ChunkPackContentType);

        var problem = await (await fx.SendAsync(HttpMethod.Post, $"{Ws(ws)}/chunks", fx.Assertion(alice), content)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("SHA-256", problem.GetProperty("detail").GetString());
        var missing = await (await fx.PostAsync($"{Ws(ws)}/chunks/missing", alice, new MissingChunksRequest([Id(good)]))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Single(missing.GetProperty("missing").EnumerateArray());
    }

    [Fact]
    public async Task ATamperedStoredObjectIsAnIntegrityErrorNeverGarbage()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        await fx.PutFileAsync(ws, alice, "secret.txt", Encoding.UTF8.GetBytes("attack at dawn"));
        var store = fx.RawStore();
        var key = await SingleObjectAsync(store, ws);
        var blob = await ReadObjectAsync(store, key);
        blob[^3] ^= 0x20;
        await WriteObjectAsync(store, key, blob);

        var content = await (await fx.GetAsync($"{Ws(ws)}/files/content?path=secret.txt", alice)).AssertProblemAsync(HttpStatusCode.InternalServerError);
        Assert.Equal("Integrity error", content.GetProperty("title").GetString());
        var info = await fx.GetJsonAsync<FileDetails>($"{Ws(ws)}/files/info?path=secret.txt", alice);
        await (await fx.GetAsync($"{Ws(ws)}/chunks/{info.Chunks[0].Id}", alice)).AssertProblemAsync(HttpStatusCode.InternalServerError);
        // The batch fetch authenticates every chunk before answering: a 500, never a pack with garbage in it.
        await (await fx.PostAsync($"{Ws(ws)}/chunks/fetch", alice, new FetchChunksRequest([info.Chunks[0].Id]))).AssertProblemAsync(HttpStatusCode.InternalServerError);
    }

    private static async Task<List<(string Id, byte[] Data)>> ReadPackAsync(HttpResponseMessage response)
    {
        await response.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(SyncApi.ChunkPackContentType, response.Content.Headers.ContentType?.MediaType);
        using var reader = new HeadyClouds.Sync.Core.Chunking.ChunkPackReader(await response.Content.ReadAsStreamAsync()); // verifies every hash
        var records = new List<(string, byte[])>();
        while (await reader.ReadAsync() is { } record)
        {
            records.Add((record.Id.Value, record.Data.ToArray()));
        }

        return records;
    }

    [Fact]
    public async Task ChunkFetchAnswersAPackInRequestOrderAndOnlyTheWorkspacesOwnChunks()
    {
        var alice = Callers.NewUser(ReadWrite);
        var viewer = Callers.NewUser(ReadWrite);
        var outsider = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var other = await fx.CreateWorkspaceAsync(alice);
        await fx.AddMemberAsync(ws, alice, viewer, "viewer");
        var small = Enumerable.Range(0, 5).Select(i => Random(1000 + i)).ToList();
        await fx.UploadAsync(ws, alice, small);
        var foreign = Random(700);
        await fx.UploadAsync(other, alice, [foreign]);

        // Request order, a duplicate answered once; a viewer may fetch.
        var ids = new[] { Id(small[3]), Id(small[0]), Id(small[3]), Id(small[4]) };
        var pack = await ReadPackAsync(await fx.PostAsync($"{Ws(ws)}/chunks/fetch", viewer, new FetchChunksRequest(ids)));
        Assert.Equal([Id(small[3]), Id(small[0]), Id(small[4])], pack.Select(r => r.Id));
        Assert.Equal([small[3], small[0], small[4]], pack.Select(r => r.Data));

        // Another workspace's chunk is unknown here even to its owner (no cross-workspace reads by id); outsiders see no workspace.
        var unknown = await (await fx.PostAsync($"{Ws(ws)}/chunks/fetch", alice, new FetchChunksRequest([Id(small[1]), Id(foreign)]))).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains(Id(foreign), unknown.GetProperty("detail").GetString());
        await (await fx.PostAsync($"{Ws(ws)}/chunks/fetch", outsider, new FetchChunksRequest([Id(small[1])]))).AssertProblemAsync(HttpStatusCode.NotFound);

        // Bad requests.
        await (await fx.PostAsync($"{Ws(ws)}/chunks/fetch", alice, new FetchChunksRequest([]))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await fx.PostAsync($"{Ws(ws)}/chunks/fetch", alice, new FetchChunksRequest(["../" + new string('a', 61)]))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await fx.PostAsync($"{Ws(ws)}/chunks/fetch", alice, new FetchChunksRequest(Enumerable.Repeat(Id(small[0]), SyncApi.MaxChunkIdsPerFetch + 1).ToArray())))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ChunkFetchAnswersTheLongestPrefixThatFitsAndAlwaysOneChunk()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var big = Enumerable.Range(0, 3).Select(_ => Random(6 << 20)).ToList(); // 18 MiB > the 16 MiB answer limit
        await fx.UploadAsync(ws, alice, big);

        var first = await ReadPackAsync(await fx.PostAsync($"{Ws(ws)}/chunks/fetch", alice, new FetchChunksRequest(big.Select(Id).ToArray())));
        Assert.Equal(big.Take(2).Select(Id), first.Select(r => r.Id));
        var rest = await ReadPackAsync(await fx.PostAsync($"{Ws(ws)}/chunks/fetch", alice, new FetchChunksRequest([Id(big[2])])));
        Assert.Equal(big[2], Assert.Single(rest).Data);
    }

    [Fact]
    public async Task StoredObjectsContainNoPlaintextAndAreNotNamedByContentHash()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var plaintext = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("THE-PLAINTEXT-MARKER ", 500)));
        await fx.PutFileAsync(ws, alice, "marker.txt", plaintext);
        var chunkIds = Split(plaintext).Select(Id).ToHashSet();

        var store = fx.RawStore();
        var keys = await ListObjectsAsync(store, ws);
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            Assert.DoesNotContain(key.Split('/')[^1], chunkIds);
            var blob = await ReadObjectAsync(store, key);
            Assert.Equal(-1, blob.AsSpan().IndexOf("THE-PLAINTEXT-MARKER"u8));
            Assert.Equal("HMC"u8.ToArray(), blob[..3]);
        }
    }

    [Fact]
    public async Task KeyRotationRewrapsEveryDataKeyRetiresTheOldVersionAndEverythingStillReads()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws1 = await fx.CreateWorkspaceAsync(alice);
        var ws2 = await fx.CreateWorkspaceAsync(alice);
        var a = Random(150_000);
        var b = Random(1000);
        await fx.PutFileAsync(ws1, alice, "a.bin", a);
        await fx.PutFileAsync(ws2, alice, "b.bin", b);
        var objectsBefore = await ListObjectsAsync(fx.RawStore(), ws1);

        var rotated = await (await fx.PostAsync("/internal/v1/keys/rotate", Callers.SyncManager, new { })).AssertJsonAsync(HttpStatusCode.OK);
        var active = rotated.GetProperty("activeKeyId").GetString();
        Assert.True(rotated.GetProperty("rewrapped").GetInt32() >= 2);
        Assert.NotEmpty(rotated.GetProperty("retired").EnumerateArray());

        Assert.Equal(a, await fx.DownloadAsync(ws1, alice, "a.bin"));
        Assert.Equal(b, await fx.DownloadAsync(ws2, alice, "b.bin"));
        // Chunks were not re-encrypted: same objects.
        Assert.Equal(objectsBefore, await ListObjectsAsync(fx.RawStore(), ws1));
        await using var db = await fx.OpenConnectionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM kek_versions WHERE retired_at IS NULL AND wrapped_key IS NOT NULL", db))
        {
            Assert.Equal(1L, await command.ExecuteScalarAsync());
        }

        await using (var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM kek_versions WHERE retired_at IS NOT NULL AND wrapped_key IS NOT NULL", db))
        {
            Assert.Equal(0L, await command.ExecuteScalarAsync());
        }

        await using (var command = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM workspace_keys WHERE kek_version <> {active!["headyme-kek-".Length..]}", db))
        {
            Assert.Equal(0L, await command.ExecuteScalarAsync());
        }

        // New writes after the rotation work and read back.
        var c = Random(5000);
        await fx.PutFileAsync(ws1, alice, "c.bin", c);
        Assert.Equal(c, await fx.DownloadAsync(ws1, alice, "c.bin"));
    }

    [Fact]
    public async Task RangeReadsReturnExactlyTheRequestedBytesAcrossChunks()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var content = Random(TestChunkSize * 3 + 100);
        await fx.PutFileAsync(ws, alice, "r.bin", content);

        async Task<HttpResponseMessage> Range(string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{Ws(ws)}/files/content?path=r.bin");
            request.Headers.TryAddWithoutValidation("X-Heady-Identity", fx.Assertion(alice));
            request.Headers.TryAddWithoutValidation("Range", value);
            return await fx.Client.SendAsync(request);
        }

        var start = TestChunkSize - 10;
        var middle = await Range($"bytes={start}-{start + TestChunkSize + 19}");
        Assert.Equal(HttpStatusCode.PartialContent, middle.StatusCode);
        Assert.Equal(content[start..(start + TestChunkSize + 20)], await middle.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes {start}-{start + TestChunkSize + 19}/{content.Length}", middle.Content.Headers.ContentRange!.ToString());

        var suffix = await Range("bytes=-50");
        Assert.Equal(content[^50..], await suffix.Content.ReadAsByteArrayAsync());
        var open = await Range($"bytes={content.Length - 5}-");
        Assert.Equal(content[^5..], await open.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await Range($"bytes={content.Length}-")).StatusCode);
    }

    [Fact]
    public async Task HistoryRestoreTrashUndeleteAndPurge()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var v1 = await fx.PutFileAsync(ws, alice, "h.txt", Encoding.UTF8.GetBytes("one"));
        var v2 = await fx.PutFileAsync(ws, alice, "h.txt", Encoding.UTF8.GetBytes("two"), v1.Id);

        var versions = await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=h.txt", alice);
        Assert.Equal([v2.Id, v1.Id], versions.Select(v => v.Id));
        Assert.Equal("one", Encoding.UTF8.GetString(await (await fx.GetAsync($"{Ws(ws)}/files/content?path=h.txt&versionId={v1.Id}", alice)).Content.ReadAsByteArrayAsync()));

        var restored = (await (await fx.PostAsync($"{Ws(ws)}/files/restore", alice, new RestoreRequest("h.txt", v1.Id))).AssertJsonAsync(HttpStatusCode.Created))
            .Deserialize<FileVersionInfo>(Json)!;
        Assert.Equal("one", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "h.txt")));
        Assert.Equal(3, (await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=h.txt", alice)).Length);

        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/files?path=h.txt&baseVersionId={restored.Id}", alice)).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await fx.GetAsync($"{Ws(ws)}/files/content?path=h.txt", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
        var trash = await fx.GetJsonAsync<TrashItem[]>($"{Ws(ws)}/trash", alice);
        Assert.Equal("h.txt", Assert.Single(trash).Path);

        await (await fx.PostAsync($"{Ws(ws)}/trash/restore", alice, new TrashRestoreRequest("h.txt"))).AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal("one", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "h.txt")));

        var current = await fx.GetJsonAsync<FileDetails>($"{Ws(ws)}/files/info?path=h.txt", alice);
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/files?path=h.txt&baseVersionId={current.Version.Id}", alice)).AssertStatusAsync(HttpStatusCode.NoContent);
        var cursor = await fx.CursorAsync(ws, alice);
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/trash?path=h.txt", alice)).AssertStatusAsync(HttpStatusCode.NoContent);
        Assert.Empty(await fx.GetJsonAsync<TrashItem[]>($"{Ws(ws)}/trash", alice));
        await (await fx.GetAsync($"{Ws(ws)}/files/versions?path=h.txt", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
        var change = Assert.Single((await fx.GetJsonAsync<ChangesResponse>($"{Ws(ws)}/changes?cursor={cursor}", alice)).Changes);
        Assert.True(change.Deleted);
    }

    [Fact]
    public async Task MoveKeepsTheHistoryAndPutsNothingInTheTrash()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var v1 = await fx.PutFileAsync(ws, alice, "old/name.txt", Encoding.UTF8.GetBytes("first"));
        var v2 = await fx.PutFileAsync(ws, alice, "old/name.txt", Encoding.UTF8.GetBytes("moving"), v1.Id);
        var cursor = await fx.CursorAsync(ws, alice);

        var moved = (await (await fx.PostAsync($"{Ws(ws)}/files/move", alice, new MoveRequest("old/name.txt", "new/name.txt", v2.Id)))
            .AssertJsonAsync(HttpStatusCode.Created)).Deserialize<FileVersionInfo>(Json)!;

        Assert.Equal("moving", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "new/name.txt")));
        await (await fx.GetAsync($"{Ws(ws)}/files/content?path=old/name.txt", alice)).AssertProblemAsync(HttpStatusCode.NotFound);

        // The history moved with the file: the move itself, then both earlier versions, each still restorable there.
        var history = await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=new/name.txt", alice);
        Assert.Equal([moved.Id, v2.Id, v1.Id], history.Select(v => v.Id));
        Assert.Equal(v2.ContentHash, moved.ContentHash);
        await (await fx.GetAsync($"{Ws(ws)}/files/versions?path=old/name.txt", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty(await fx.GetJsonAsync<TrashItem[]>($"{Ws(ws)}/trash", alice));
        await (await fx.PostAsync($"{Ws(ws)}/trash/restore", alice, new TrashRestoreRequest("old/name.txt"))).AssertProblemAsync(HttpStatusCode.NotFound);

        await (await fx.PostAsync($"{Ws(ws)}/files/restore", alice, new RestoreRequest("new/name.txt", v1.Id))).AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal("first", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "new/name.txt")));

        // Devices learn it left the old path and arrived at the new one.
        var changes = await fx.GetJsonAsync<ChangesResponse>($"{Ws(ws)}/changes?cursor={cursor}", alice);
        Assert.Equal(("old/name.txt", true), (changes.Changes[0].Path, changes.Changes[0].Deleted));
        Assert.Equal(("new/name.txt", false), (changes.Changes[^1].Path, changes.Changes[^1].Deleted));

        // The old path is free again, with a history of its own.
        var fresh = await fx.PutFileAsync(ws, alice, "old/name.txt", Encoding.UTF8.GetBytes("a new file"));
        Assert.Equal([fresh.Id], (await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=old/name.txt", alice)).Select(v => v.Id));
        Assert.Equal(4, (await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=new/name.txt", alice)).Length);
    }

    [Fact]
    public async Task MovingBackAndForthKeepsOneHistory()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var v1 = await fx.PutFileAsync(ws, alice, "a.txt", Encoding.UTF8.GetBytes("content"));

        var there = (await (await fx.PostAsync($"{Ws(ws)}/files/move", alice, new MoveRequest("a.txt", "b.txt", v1.Id)))
            .AssertJsonAsync(HttpStatusCode.Created)).Deserialize<FileVersionInfo>(Json)!;
        var back = (await (await fx.PostAsync($"{Ws(ws)}/files/move", alice, new MoveRequest("b.txt", "a.txt", there.Id)))
            .AssertJsonAsync(HttpStatusCode.Created)).Deserialize<FileVersionInfo>(Json)!;

        Assert.Equal([back.Id, there.Id, v1.Id], (await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=a.txt", alice)).Select(v => v.Id));
        await (await fx.GetAsync($"{Ws(ws)}/files/versions?path=b.txt", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
        var listed = await fx.GetJsonAsync<FileListResponse>($"{Ws(ws)}/files", alice);
        Assert.Equal(["a.txt"], listed.Files.Select(f => f.Path));
        Assert.Empty(await fx.GetJsonAsync<TrashItem[]>($"{Ws(ws)}/trash", alice));

        // A stale base version (the one before the moves) is refused, and nothing moves.
        await (await fx.PostAsync($"{Ws(ws)}/files/move", alice, new MoveRequest("a.txt", "c.txt", v1.Id))).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await fx.GetAsync($"{Ws(ws)}/files/versions?path=c.txt", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task MovingOntoATrashedPathContinuesThatPathsHistory()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var trashed = await fx.PutFileAsync(ws, alice, "report.txt", Encoding.UTF8.GetBytes("old report"));
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/files?path=report.txt&baseVersionId={trashed.Id}", alice)).AssertStatusAsync(HttpStatusCode.NoContent);
        var draft = await fx.PutFileAsync(ws, alice, "draft.txt", Encoding.UTF8.GetBytes("new report"));

        var moved = (await (await fx.PostAsync($"{Ws(ws)}/files/move", alice, new MoveRequest("draft.txt", "report.txt", draft.Id)))
            .AssertJsonAsync(HttpStatusCode.Created)).Deserialize<FileVersionInfo>(Json)!;

        // As an upload to that path would: the trashed file's versions stay restorable, under the path that is live again.
        Assert.Equal("new report", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "report.txt")));
        Assert.Equal([moved.Id, draft.Id, trashed.Id], (await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=report.txt", alice)).Select(v => v.Id));
        Assert.Empty(await fx.GetJsonAsync<TrashItem[]>($"{Ws(ws)}/trash", alice));
        await (await fx.PostAsync($"{Ws(ws)}/files/restore", alice, new RestoreRequest("report.txt", trashed.Id))).AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal("old report", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "report.txt")));
    }

    [Fact]
    public async Task ChangeFeedPagesInSequenceOrderAndRefusesBadCursors()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        for (var i = 0; i < 5; i++)
        {
            await fx.PutFileAsync(ws, alice, $"f{i}.txt", Encoding.UTF8.GetBytes($"content {i}"));
        }

        var seen = new List<string>();
        string? cursor = null;
        while (true)
        {
            var page = await fx.GetJsonAsync<ChangesResponse>($"{Ws(ws)}/changes?limit=2{(cursor is null ? "" : "&cursor=" + cursor)}", alice);
            seen.AddRange(page.Changes.Select(c => c.Path));
            cursor = page.Cursor;
            if (!page.HasMore)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"f{i}.txt"), seen);
        Assert.Equal(await fx.CursorAsync(ws, alice), cursor);
        await (await fx.GetAsync($"{Ws(ws)}/changes?cursor=abc", alice)).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await fx.GetAsync($"{Ws(ws)}/changes/poll?cursor=0&timeout=500", alice)).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ServerSentEventsDeliverChanges()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var cursor = await fx.CursorAsync(ws, alice);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Ws(ws)}/changes/stream?cursor={cursor}");
        request.Headers.TryAddWithoutValidation("X-Heady-Identity", fx.Assertion(alice));
        using var response = await fx.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        await fx.PutFileAsync(ws, alice, "sse.txt", Encoding.UTF8.GetBytes("pushed"));

        string? line;
        while ((line = await reader.ReadLineAsync()) is not null && !line.StartsWith("data: ", StringComparison.Ordinal))
        {
        }

        var changes = JsonSerializer.Deserialize<ChangesResponse>(line!["data: ".Length..], Json)!;
        Assert.Equal("sse.txt", Assert.Single(changes.Changes).Path);
    }

    [Fact]
    public async Task GarbageCollectionSparesReferencedAndInFlightChunksAndDeletesOldGarbage()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var kept = Random(1000);
        var garbage = Random(1000);
        var inFlight = Random(1000);
        await fx.PutFileAsync(ws, alice, "kept.bin", kept);
        await fx.UploadAsync(ws, alice, [garbage, inFlight]);
        await using (var db = await fx.OpenConnectionAsync())
        {
            // Everything is old except the in-flight upload; only the unreferenced old chunk may go.
            await using var command = new Npgsql.NpgsqlCommand(
                "UPDATE chunks SET last_referenced_at = now() - interval '30 days' WHERE workspace_id = @w AND chunk_id <> @inflight", db);
            command.Parameters.AddWithValue("w", ws);
            command.Parameters.AddWithValue("inflight", Id(inFlight));
            await command.ExecuteNonQueryAsync();
        }

        var objectsBefore = await ListObjectsAsync(fx.RawStore(), ws);
        var result = await (await fx.PostAsync("/internal/v1/maintenance", Callers.SyncManager, new { })).AssertJsonAsync(HttpStatusCode.OK);

        Assert.True(result.GetProperty("chunksDeleted").GetInt32() >= 1);
        var missing = (await (await fx.PostAsync($"{Ws(ws)}/chunks/missing", alice, new MissingChunksRequest([Id(kept), Id(garbage), Id(inFlight)])))
            .AssertJsonAsync(HttpStatusCode.OK)).Deserialize<MissingChunksResponse>(Json)!.Missing;
        Assert.Equal([Id(garbage)], missing);
        Assert.Equal(objectsBefore.Count - 1, (await ListObjectsAsync(fx.RawStore(), ws)).Count);
        Assert.Equal(kept, await fx.DownloadAsync(ws, alice, "kept.bin"));
        // The in-flight upload commits fine afterwards.
        await (await fx.CommitAsync(ws, alice, FileRequest("late.bin", inFlight, null))).AssertStatusAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task RetentionKeepsTheNewestVersions()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        Guid? last = null;
        for (var i = 0; i < 4; i++)
        {
            last = (await fx.PutFileAsync(ws, alice, "r.txt", Encoding.UTF8.GetBytes($"version {i}"), last)).Id;
        }

        await (await fx.SendAsync(HttpMethod.Put, $"{Ws(ws)}/retention", alice, new RetentionPolicy(2, null))).AssertStatusAsync(HttpStatusCode.OK);
        await (await fx.PostAsync("/internal/v1/maintenance", Callers.SyncManager, new { })).AssertStatusAsync(HttpStatusCode.OK);

        var versions = await fx.GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path=r.txt", alice);
        Assert.Equal(2, versions.Length);
        Assert.Equal(last, versions[0].Id);
        Assert.Equal("version 3", Encoding.UTF8.GetString(await fx.DownloadAsync(ws, alice, "r.txt")));
    }

    private static async Task<List<string>> ListObjectsAsync(Minio.IMinioClient store, Guid ws)
    {
        var keys = new List<string>();
        await foreach (var item in store.ListObjectsEnumAsync(new Minio.DataModel.Args.ListObjectsArgs()
            .WithBucket(HeadyMeServices.ChunkBucket).WithPrefix($"{ws:N}/").WithRecursive(true)))
        {
            keys.Add(item.Key);
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    private static async Task<string> SingleObjectAsync(Minio.IMinioClient store, Guid ws) => Assert.Single(await ListObjectsAsync(store, ws));

    private static async Task<byte[]> ReadObjectAsync(Minio.IMinioClient store, string key)
    {
        using var buffer = new MemoryStream();
        await store.GetObjectAsync(new Minio.DataModel.Args.GetObjectArgs().WithBucket(HeadyMeServices.ChunkBucket).WithObject(key)
            .WithCallbackStream((s, ct) => s.CopyToAsync(buffer, ct)));
        return buffer.ToArray();
    }

    private static async Task WriteObjectAsync(Minio.IMinioClient store, string key, byte[] blob)
    {
        using var stream = new MemoryStream(blob);
        await store.PutObjectAsync(new Minio.DataModel.Args.PutObjectArgs().WithBucket(HeadyMeServices.ChunkBucket).WithObject(key)
            .WithStreamData(stream).WithObjectSize(blob.Length));
    }
}
