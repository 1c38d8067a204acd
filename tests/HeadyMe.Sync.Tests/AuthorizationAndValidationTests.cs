using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using static HeadyMe.Sync.Tests.HeadyMeFixture;

namespace HeadyMe.Sync.Tests;

public sealed class AuthorizationAndValidationTests(HeadyMeFixture fx) : IClassFixture<HeadyMeFixture>
{
    private static readonly string AnyChunk = new('a', 64);

    /// <summary>Every workspace route with a body that would be valid; {u} is a user id.</summary>
    public static TheoryData<string, string, string> Writes => new()
    {
        { "POST", "chunks/missing", """{"chunkIds":[]}""" },
        { "POST", "chunks", "" },
        { "POST", "files/commit", """{"files":[]}""" },
        { "POST", "files", "{}" },
        { "POST", "files/restore", """{"path":"a","versionId":"00000000-0000-0000-0000-000000000000"}""" },
        { "DELETE", "files?path=a&baseVersionId=00000000-0000-0000-0000-000000000000", "" },
        { "POST", "files/move", """{"from":"a","to":"b","baseVersionId":"00000000-0000-0000-0000-000000000000"}""" },
        { "POST", "trash/restore", """{"path":"a"}""" },
        { "DELETE", "trash?path=a", "" },
    };

    public static TheoryData<string, string, string> OwnerOnly => new()
    {
        { "PUT", "members/{u}", """{"role":"viewer"}""" },
        { "DELETE", "members/{u}", "" },
        { "PUT", "retention", """{"keepVersions":3}""" },
    };

    public static TheoryData<string> Reads => new()
    {
        $"chunks/{AnyChunk}", "files", "files/info?path=a", "files/content?path=a", "files/versions?path=a", "trash",
        "changes", "changes/latest", "changes/poll?timeout=1", "changes/stream", "members", "retention",
    };

    private async Task<HttpResponseMessage> SendAsync(CallerIdentity caller, string method, Guid ws, string route, string body)
    {
        HttpContent? content = method is "GET" or "DELETE" ? null : new StringContent(body, Encoding.UTF8, route == "chunks" ? SyncApi.ChunkPackContentType : "application/json");
        return await fx.SendAsync(new HttpMethod(method), $"{Ws(ws)}/{route.Replace("{u}", Guid.CreateVersion7().ToString())}", fx.Assertion(caller), content);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    [MemberData(nameof(OwnerOnly))]
    public async Task ANonMemberCannotLearnTheWorkspaceExistsWhenWriting(string method, string route, string body)
    {
        var ws = await fx.CreateWorkspaceAsync(Callers.NewUser(ReadWrite));

        var problem = await (await SendAsync(Callers.NewUser(ReadWrite), method, ws, route, body)).AssertProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal($"Workspace {ws} was not found.", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task ANonMemberCannotLearnTheWorkspaceExistsWhenReading(string route)
    {
        var ws = await fx.CreateWorkspaceAsync(Callers.NewUser(ReadWrite));

        await (await fx.GetAsync($"{Ws(ws)}/{route}", Callers.NewUser(ReadWrite))).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    [MemberData(nameof(OwnerOnly))]
    public async Task AViewerCannotWrite(string method, string route, string body)
    {
        var owner = Callers.NewUser(ReadWrite);
        var viewer = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(owner);
        await fx.AddMemberAsync(ws, owner, viewer, "viewer");

        await (await SendAsync(viewer, method, ws, route, body)).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Theory]
    [MemberData(nameof(OwnerOnly))]
    public async Task AnEditorCannotManageMembersOrRetention(string method, string route, string body)
    {
        var owner = Callers.NewUser(ReadWrite);
        var editor = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(owner);
        await fx.AddMemberAsync(ws, owner, editor, "editor");

        await (await SendAsync(editor, method, ws, route, body)).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task AViewerCanRead(string route)
    {
        var owner = Callers.NewUser(ReadWrite);
        var viewer = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(owner);
        await fx.AddMemberAsync(ws, owner, viewer, "viewer");
        await fx.PutFileAsync(ws, owner, "a", Encoding.UTF8.GetBytes("aaa"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Ws(ws)}/{route}");
        request.Headers.TryAddWithoutValidation(HeadyHeaders.Identity, fx.Assertion(viewer));

        using var response = await fx.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        // The chunk route asks for an unknown chunk: found the workspace, not the chunk.
        Assert.True(response.StatusCode is HttpStatusCode.OK || (route.StartsWith("chunks/") && response.StatusCode == HttpStatusCode.NotFound),
            $"{route}: {(int)response.StatusCode}");
    }

    [Fact]
    public async Task AnEditorWritesAndAnOwnerManagesMembers()
    {
        var owner = Callers.NewUser(ReadWrite);
        var editor = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(owner);
        await fx.AddMemberAsync(ws, owner, editor, "editor");

        await fx.PutFileAsync(ws, editor, "by-editor.txt", Encoding.UTF8.GetBytes("hello"));
        var members = await fx.GetJsonAsync<MemberResponse[]>($"{Ws(ws)}/members", editor);
        Assert.Equal(["owner", "editor"], members.Select(m => m.Role));

        // Demoted to viewer: writes stop; removed: the workspace disappears.
        await fx.AddMemberAsync(ws, owner, editor, "viewer");
        await (await fx.CommitAsync(ws, editor, FileRequest("x.txt", Encoding.UTF8.GetBytes("hello"), null))).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/members/{editor.Id()}", owner)).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await fx.GetAsync($"{Ws(ws)}/files", editor)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await fx.GetAsync($"/api/v1/workspaces/{ws}", editor)).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TheLastOwnerCannotLeaveOrBeDemoted()
    {
        var owner = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(owner);

        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/members/{owner.Id()}", owner)).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await fx.SendAsync(HttpMethod.Put, $"{Ws(ws)}/members/{owner.Id()}", owner, new { role = "editor" })).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await fx.SendAsync(HttpMethod.Put, $"{Ws(ws)}/members/{owner.Id()}", owner, new { role = "admin" })).AssertValidationProblemAsync("role");
    }

    [Fact]
    public async Task WritingNeedsTheWriteScopeAndReadingTheReadScope()
    {
        var owner = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(owner);
        var readOnlyToken = Callers.User(owner.Id(), owner.Name, "workspaces:read");
        var writeOnlyToken = Callers.User(owner.Id(), owner.Name, "workspaces:write");

        Assert.Equal(HttpStatusCode.Forbidden, (await fx.CommitAsync(ws, readOnlyToken, FileRequest("a", [1], null))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.GetAsync($"{Ws(ws)}/files", writeOnlyToken)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fx.GetAsync($"{Ws(ws)}/files", readOnlyToken)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.GetAsync($"{Ws(ws)}/files")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.GetAsync($"{Ws(ws)}/files", Callers.SyncManager)).StatusCode);
    }

    [Theory]
    [InlineData("/internal/v1/maintenance")]
    [InlineData("/internal/v1/keys/rotate")]
    public async Task InternalEndpointsAreForSyncManagerOnly(string route)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.PostAsync(route, null, new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.PostAsync(route, Callers.Admin(), new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.PostAsync(route, Callers.Gateway, new { })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fx.PostAsync(route, Callers.SyncManager, new { })).StatusCode);
    }

    [Theory]
    [InlineData("../escape.txt", "'..'")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("a//b.txt", "empty segment")]
    [InlineData("nul\0.txt", "NUL")]
    [InlineData("tab\t.txt", "U+0009")]
    [InlineData("a/./b.txt", "'.'")]
    public async Task HostilePathsAreRefusedAndChangeNothing(string path, string expected)
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var content = Encoding.UTF8.GetBytes("payload");
        await fx.UploadAsync(ws, alice, [content]);
        var cursor = await fx.CursorAsync(ws, alice);

        var problem = await (await fx.CommitAsync(ws, alice, FileRequest(path, content, null))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.GetProperty("detail").GetString());
        await (await fx.GetAsync($"{Ws(ws)}/files/content?path={Uri.EscapeDataString(path)}", alice)).AssertValidationProblemAsync("path");

        Assert.Equal(cursor, await fx.CursorAsync(ws, alice));
        Assert.Empty((await fx.GetJsonAsync<FileListResponse>($"{Ws(ws)}/files", alice)).Files);
    }

    [Fact]
    public async Task NamesDifferingOnlyByNormalizationInOneFolderAreRefused()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        await fx.PutFileAsync(ws, alice, "caf\u00e9/menu.txt", Encoding.UTF8.GetBytes("nfc"));
        var content = Encoding.UTF8.GetBytes("nfd");
        await fx.UploadAsync(ws, alice, [content]);
        var cursor = await fx.CursorAsync(ws, alice);

        var folder = await (await fx.CommitAsync(ws, alice, FileRequest("cafe\u0301/other.txt", content, null))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("differ only by Unicode normalization", folder.GetProperty("detail").GetString());
        await (await fx.CommitAsync(ws, alice, FileRequest("cafe\u0301/menu.txt", content, null))).AssertProblemAsync(HttpStatusCode.BadRequest);
        var batch = await (await fx.PostAsync($"{Ws(ws)}/files/commit", alice, new CommitBatchRequest(
            [FileRequest("x/\u00c5.txt", content, null), FileRequest("x/A\u030a.txt", content, null)]))).AssertJsonAsync(HttpStatusCode.OK);
        var results = batch.Deserialize<CommitBatchResponse>(Json)!.Results;
        Assert.Equal([CommitOutcomes.Committed, CommitOutcomes.Rejected], results.Select(r => r.Outcome));

        // The same spelling is fine; other folders are independent.
        await fx.PutFileAsync(ws, alice, "caf\u00e9/second.txt", Encoding.UTF8.GetBytes("ok"));
        Assert.Single((await fx.GetJsonAsync<ChangesResponse>($"{Ws(ws)}/changes?cursor={cursor}", alice)).Changes, c => c.Path == "caf\u00e9/second.txt");
    }

    [Fact]
    public async Task AFileCannotBeCreatedUnderAFileNorOverAFolder()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        await fx.PutFileAsync(ws, alice, "plain", Encoding.UTF8.GetBytes("file"));
        await fx.PutFileAsync(ws, alice, "dir/inside.txt", Encoding.UTF8.GetBytes("x"));
        var content = Encoding.UTF8.GetBytes("y");
        await fx.UploadAsync(ws, alice, [content]);

        await (await fx.CommitAsync(ws, alice, FileRequest("plain/child.txt", content, null))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await fx.CommitAsync(ws, alice, FileRequest("dir", content, null))).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task OversizeAndMalformedBodiesAreRefused()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var cursor = await fx.CursorAsync(ws, alice);

        var huge = new ByteArrayContent(new byte[SyncApi.MaxChunkPackBytes + 1]);
        huge.Headers.ContentType = new MediaTypeHeaderValue(SyncApi.ChunkPackContentType);
        await (await fx.SendAsync(HttpMethod.Post, $"{Ws(ws)}/chunks", fx.Assertion(alice), huge)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        var json = new StringContent("{}", Encoding.UTF8, "application/json");
        await (await fx.SendAsync(HttpMethod.Post, $"{Ws(ws)}/chunks", fx.Assertion(alice), json)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);

        var truncated = new ByteArrayContent(new byte[20]);
        truncated.Headers.ContentType = new MediaTypeHeaderValue(SyncApi.ChunkPackContentType);
        await (await fx.SendAsync(HttpMethod.Post, $"{Ws(ws)}/chunks", fx.Assertion(alice), truncated)).AssertProblemAsync(HttpStatusCode.BadRequest);

        var tooMany = Enumerable.Range(0, SyncApi.MaxFilesPerCommit + 1).Select(i => FileRequest($"f{i}", [1], null)).ToArray();
        await (await fx.PostAsync($"{Ws(ws)}/files/commit", alice, new CommitBatchRequest(tooMany))).AssertValidationProblemAsync("files");

        var ids = Enumerable.Range(0, SyncApi.MaxChunkIdsPerQuery + 1).Select(_ => AnyChunk).ToArray();
        await (await fx.PostAsync($"{Ws(ws)}/chunks/missing", alice, new MissingChunksRequest(ids))).AssertValidationProblemAsync("chunkIds");
        await (await fx.PostAsync($"{Ws(ws)}/chunks/missing", alice, new MissingChunksRequest(["ABC"]))).AssertValidationProblemAsync("chunkIds");

        await (await fx.CommitAsync(ws, alice, FileRequest("a.txt", [1], null) with { ContentHash = "nope" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await fx.CommitAsync(ws, alice, FileRequest("a.txt", [1], null) with { Size = 5 })).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(cursor, await fx.CursorAsync(ws, alice));
    }
}
