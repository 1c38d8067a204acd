using System.Security.Claims;
using System.Text.Json;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Paths;
using HeadyClouds.Sync.Core.Protocol;
using HeadyMe.Sync.Changes;
using HeadyMe.Sync.Crypto;
using HeadyMe.Sync.Domain;
using HeadyMe.Sync.Files;
using HeadyMe.Sync.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using FromQueryAttribute = Microsoft.AspNetCore.Mvc.FromQueryAttribute;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace HeadyMe.Sync.Apis;

/// <summary>The sync engine's routes under /api/v1/workspaces/{id} (docs/headyme-sync.md).</summary>
public static class WorkspaceSyncApi
{
    private const int DefaultListLimit = 1000;
    private const int MaxListLimit = 5000;

    /// <summary>Chunks fetched ahead while streaming a file (at most 8 MiB each).</summary>
    private const int ReadAhead = 4;

    public static IEndpointRouteBuilder MapSyncApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/workspaces/{id:guid}")
            .WithTags("Sync")
            .RequireAuthorization(HeadyPolicies.User);
        const string read = WorkspacesApi.ReadScope;
        const string write = WorkspacesApi.WriteScope;

        api.MapPost("/chunks/missing", Missing).RequireScope(write);
        api.MapPost("/chunks", Upload).RequireScope(write);
        api.MapGet("/chunks/{chunkId}", GetChunk).RequireScope(read);
        api.MapPost("/chunks/fetch", Fetch).RequireScope(read);

        api.MapPost("/files/commit", CommitBatch).RequireScope(write);
        api.MapPost("/files", CommitOne).RequireScope(write);
        api.MapGet("/files", List).RequireScope(read);
        api.MapGet("/files/info", Info).RequireScope(read);
        api.MapGet("/files/content", Content).RequireScope(read);
        api.MapGet("/files/versions", Versions).RequireScope(read);
        api.MapPost("/files/restore", Restore).RequireScope(write);
        api.MapDelete("/files", Delete).RequireScope(write);
        api.MapPost("/files/move", Move).RequireScope(write);

        api.MapGet("/trash", Trash).RequireScope(read);
        api.MapPost("/trash/restore", Undelete).RequireScope(write);
        api.MapDelete("/trash", Purge).RequireScope(write);

        api.MapGet("/changes", Changes).RequireScope(read);
        api.MapGet("/changes/latest", Latest).RequireScope(read);
        api.MapGet("/changes/poll", Poll).RequireScope(read);
        api.MapGet("/changes/stream", Stream).RequireScope(read);
        return app;
    }

    // ---------------------------------------------------------------- chunks

    private static async Task<IResult> Missing(Guid id, MissingChunksRequest request, ClaimsPrincipal caller, WorkspaceAccess access, ChunkStore chunks, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if (request.ChunkIds is null || request.ChunkIds.Count > SyncApi.MaxChunkIdsPerQuery)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["chunkIds"] = [$"chunkIds is required: at most {SyncApi.MaxChunkIdsPerQuery} ids."] });
        }

        if (request.ChunkIds.FirstOrDefault(c => !ChunkId.IsValid(c)) is { } bad)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["chunkIds"] = [$"'{Shorten(bad)}' is not a chunk id: expected 64 lowercase hex characters (SHA-256)."] });
        }

        return TypedResults.Ok(new MissingChunksResponse(await chunks.MissingAsync(id, request.ChunkIds, ct)));
    }

    private static async Task<IResult> Upload(Guid id, HttpRequest request, ClaimsPrincipal caller, WorkspaceAccess access, ChunkStore chunks,
        HeadyMe.Sync.Quota.QuotaService quota, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if (!string.Equals(request.ContentType, ChunkPack.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem($"Chunks are uploaded as '{ChunkPack.ContentType}', not '{request.ContentType}'.",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        }

        if (request.ContentLength > SyncApi.MaxChunkPackBytes)
        {
            return SyncProblems.TooLarge($"A chunk pack may be at most {SyncApi.MaxChunkPackBytes} bytes; this one is {request.ContentLength}.");
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = SyncApi.MaxChunkPackBytes;
        }

        if (await quota.WorkspaceOwnerFullAsync(id, ct) is { } full)
        {
            return SyncProblems.Quota(full);
        }

        try
        {
            return TypedResults.Ok(await chunks.UploadAsync(id, request.Body, ct));
        }
        catch (ChunkPackFormatException e)
        {
            return Problems.BadRequest(e.Message + " Records before it were stored; uploads are idempotent.");
        }
        catch (ChunkPackTooLargeException e)
        {
            return SyncProblems.TooLarge(e.Message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return SyncProblems.TooLarge($"A chunk pack may be at most {SyncApi.MaxChunkPackBytes} bytes.");
        }
    }

    private static async Task<IResult> GetChunk(Guid id, string chunkId, HttpContext context, ClaimsPrincipal caller, WorkspaceAccess access, ChunkStore chunks, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (!ChunkId.IsValid(chunkId))
        {
            return Problems.BadRequest($"'{Shorten(chunkId)}' is not a chunk id: expected 64 lowercase hex characters (SHA-256).");
        }

        byte[]? data;
        try
        {
            data = await chunks.ReadAsync(id, chunkId, ct);
        }
        catch (ChunkIntegrityException e)
        {
            return SyncProblems.Integrity(e.Message);
        }

        if (data is null)
        {
            return Problems.NotFound($"Workspace {id} has no chunk {chunkId}.");
        }

        // Content-addressed: a chunk id never names other bytes.
        context.Response.Headers.CacheControl = "private, max-age=31536000, immutable";
        return TypedResults.Bytes(data, "application/octet-stream", entityTag: new EntityTagHeaderValue($"\"{chunkId}\""));
    }

    /// <summary>
    /// Many chunks in one chunk pack (a folder of small files would otherwise take a request per file): the longest
    /// prefix of the requested ids that fits in <see cref="SyncApi.MaxChunkFetchBytes"/> (always at least one), in
    /// request order, duplicates once. The client asks again for the rest. All chunks are read and authenticated
    /// before the first byte is sent, so an unknown chunk is a 404 and a damaged one a 500, never a truncated pack.
    /// </summary>
    private static async Task<IResult> Fetch(Guid id, FetchChunksRequest request, ClaimsPrincipal caller, WorkspaceAccess access, ChunkStore chunks, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (request.ChunkIds is null || request.ChunkIds.Count is 0 || request.ChunkIds.Count > SyncApi.MaxChunkIdsPerFetch)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["chunkIds"] = [$"chunkIds is required: 1 to {SyncApi.MaxChunkIdsPerFetch} ids."] });
        }

        if (request.ChunkIds.FirstOrDefault(c => !ChunkId.IsValid(c)) is { } bad)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["chunkIds"] = [$"'{Shorten(bad)}' is not a chunk id: expected 64 lowercase hex characters (SHA-256)."] });
        }

        var ids = request.ChunkIds.Distinct(StringComparer.Ordinal).ToList();
        var known = await chunks.DescribeAsync(id, ids, ct);
        if (ids.FirstOrDefault(c => !known.ContainsKey(c)) is { } unknown)
        {
            return Problems.NotFound($"Workspace {id} has no chunk {unknown}.");
        }

        var take = 0;
        long bytes = 0;
        while (take < ids.Count && (take == 0 || bytes + known[ids[take]].Size <= SyncApi.MaxChunkFetchBytes))
        {
            bytes += known[ids[take]].Size;
            take++;
        }

        var data = new byte[take][];
        try
        {
            await Parallel.ForAsync(0, take, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, token) =>
                data[i] = await chunks.ReadObjectAsync(id, ids[i], known[ids[i]].ObjectKey, token));
        }
        catch (ChunkIntegrityException e)
        {
            return SyncProblems.Integrity(e.Message);
        }

        using var pack = new MemoryStream((int)ChunkPack.EncodedLength(data.Select(d => d.Length)));
        var writer = new ChunkPackWriter(pack);
        for (var i = 0; i < take; i++)
        {
            await writer.WriteAsync(ChunkId.Parse(ids[i]), data[i], ct);
        }

        return TypedResults.Bytes(pack.ToArray(), ChunkPack.ContentType);
    }

    // ---------------------------------------------------------------- commits

    private static async Task<IResult> CommitBatch(Guid id, CommitBatchRequest request, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if (request.Files is null || request.Files.Count is 0 || request.Files.Count > SyncApi.MaxFilesPerCommit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["files"] = [$"files is required: 1-{SyncApi.MaxFilesPerCommit} files per commit."] });
        }

        var outcome = await files.CommitAsync(id, caller.UserId(), request.Files, ct);
        return outcome.Quota is { } quota
            ? SyncProblems.Quota(quota)
            : TypedResults.Ok(new CommitBatchResponse(outcome.Results, FileStore.Cursor(outcome.Cursor)));
    }

    private static async Task<IResult> CommitOne(Guid id, CommitFileRequest request, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        var outcome = await files.CommitAsync(id, caller.UserId(), [request], ct);
        if (outcome.Quota is { } quota)
        {
            return SyncProblems.Quota(quota);
        }

        var result = outcome.Results[0];
        return result.Outcome switch
        {
            CommitOutcomes.Committed => TypedResults.Created($"/api/v1/workspaces/{id}/files/info?path={Uri.EscapeDataString(result.Path)}", result.Version),
            CommitOutcomes.Unchanged => TypedResults.Ok(result.Version),
            CommitOutcomes.Conflict => TypedResults.Problem(
                $"'{result.Path}' changed since version {request.BaseVersionId?.ToString() ?? "(none: the file is new)"}: its current version is {result.Current!.Id}. Your content was kept as '{result.ConflictCopyPath}'.",
                statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                extensions: new Dictionary<string, object?> { ["current"] = result.Current, ["conflictCopyPath"] = result.ConflictCopyPath, ["conflictCopy"] = result.Version }),
            _ => TypedResults.Problem(result.Error, statusCode: StatusCodes.Status400BadRequest, title: "Bad request",
                extensions: result.MissingChunks is null ? null : new Dictionary<string, object?> { ["missingChunks"] = result.MissingChunks }),
        };
    }

    // ---------------------------------------------------------------- reads

    private static async Task<IResult> List(Guid id, string? after, int? limit, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (limit is < 1 or > MaxListLimit)
        {
            return Problems.BadRequest($"limit must be 1-{MaxListLimit}.");
        }

        return TypedResults.Ok(await files.ListAsync(id, after, limit ?? DefaultListLimit, ct));
    }

    private static async Task<IResult> Info(Guid id, string? path, [FromQuery(Name = "versionId")] string? versionText, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (!TryParseVersion(versionText, out var versionId))
        {
            return BadVersion(versionText);
        }

        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (InvalidPath(path) is { } bad)
        {
            return bad;
        }

        return await files.GetAsync(id, path!, versionId, ct) is { } found
            ? TypedResults.Ok(found.Details)
            : NoFile(path!, versionId);
    }

    private static async Task<IResult> Content(Guid id, string? path, [FromQuery(Name = "versionId")] string? versionText, HttpContext context, ClaimsPrincipal caller, WorkspaceAccess access,
        FileStore files, ChunkStore chunks, CancellationToken ct)
    {
        if (!TryParseVersion(versionText, out var versionId))
        {
            return BadVersion(versionText);
        }

        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (InvalidPath(path) is { } bad)
        {
            return bad;
        }

        if (await files.GetAsync(id, path!, versionId, ct) is not { } found)
        {
            return NoFile(path!, versionId);
        }

        var details = found.Details;
        if (details.Deleted && versionId is null)
        {
            return Problems.NotFound($"'{details.Path}' is deleted (it is in the trash).");
        }

        if (details.Chunks.FirstOrDefault(c => c.Size < 0) is { } lost)
        {
            return SyncProblems.Integrity($"Chunk {lost.Id} of '{details.Path}' is missing from the workspace.");
        }

        var total = details.Version.Size;
        long start = 0, end = total - 1;
        var partial = false;
        if (context.Request.Headers.Range.Count > 0 && RangeHeaderValue.TryParse(context.Request.Headers.Range.ToString(), out var range)
            && range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase) && range.Ranges.Count == 1)
        {
            var r = range.Ranges.First();
            if (r.From is null && r.To is { } suffix)
            {
                (start, end) = (Math.Max(0, total - suffix), total - 1);
            }
            else
            {
                (start, end) = (r.From ?? 0, Math.Min(r.To ?? total - 1, total - 1));
            }

            if (start >= total || start > end || (r.From is null && r.To is 0))
            {
                context.Response.Headers.ContentRange = $"bytes */{total}";
                return TypedResults.Problem($"The range is outside '{details.Path}' ({total} bytes).", statusCode: StatusCodes.Status416RangeNotSatisfiable, title: "Range not satisfiable");
            }

            partial = true;
        }

        var wanted = details.Chunks.Where(c => c.Offset + c.Size > start && c.Offset <= end).ToArray();
        var objects = await chunks.DescribeAsync(id, wanted.Select(c => c.Id).ToArray(), ct);
        // The first chunk is read before any header is sent, so a damaged object answers with a problem, never bytes.
        byte[]? first = null;
        if (wanted.Length > 0)
        {
            try
            {
                first = await chunks.ReadObjectAsync(id, wanted[0].Id, objects[wanted[0].Id].ObjectKey, ct);
            }
            catch (ChunkIntegrityException e)
            {
                return SyncProblems.Integrity(e.Message);
            }
        }

        var response = context.Response;
        response.StatusCode = partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        response.ContentType = "application/octet-stream";
        response.ContentLength = total == 0 ? 0 : end - start + 1;
        response.Headers.ETag = $"\"{details.Version.Id}\"";
        response.Headers.AcceptRanges = "bytes";
        if (partial)
        {
            response.Headers.ContentRange = $"bytes {start}-{end}/{total}";
        }

        // Read ahead a few chunks so the object store's latency overlaps the response's writes.
        var ahead = new Queue<Task<byte[]>>();
        var next = 1;
        for (var i = 0; i < wanted.Length; i++)
        {
            while (ahead.Count < ReadAhead && next < wanted.Length)
            {
                var chunk = wanted[next++];
                ahead.Enqueue(chunks.ReadObjectAsync(id, chunk.Id, objects[chunk.Id].ObjectKey, ct));
            }

            byte[] data;
            try
            {
                data = i == 0 ? first! : await ahead.Dequeue();
            }
            catch (ChunkIntegrityException)
            {
                // Headers are gone: cut the connection so the client sees a failed transfer, never wrong bytes.
                context.Abort();
                return Results.Empty;
            }

            var from = (int)Math.Max(0, start - wanted[i].Offset);
            var to = (int)Math.Min(wanted[i].Size - 1, end - wanted[i].Offset);
            await response.Body.WriteAsync(data.AsMemory(from, to - from + 1), ct);
        }

        return Results.Empty;
    }

    private static async Task<IResult> Versions(Guid id, string? path, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (InvalidPath(path) is { } bad)
        {
            return bad;
        }

        return await files.VersionsAsync(id, path!, ct) is { } versions ? TypedResults.Ok(versions) : NoFile(path!, null);
    }

    // ---------------------------------------------------------------- tree operations

    private static async Task<IResult> Restore(Guid id, RestoreRequest request, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if (InvalidPath(request.Path) is { } bad)
        {
            return bad;
        }

        var (version, error, quota) = await files.RestoreAsync(id, caller.UserId(), request.Path, request.VersionId, ct);
        return quota is not null ? SyncProblems.Quota(quota)
            : error is not null ? SyncProblems.From(error)
            : TypedResults.Created($"/api/v1/workspaces/{id}/files/info?path={Uri.EscapeDataString(version!.Path)}", version);
    }

    private static async Task<IResult> Delete(Guid id, string? path, Guid? baseVersionId, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if (InvalidPath(path) is { } bad)
        {
            return bad;
        }

        if (baseVersionId is null)
        {
            return Problems.BadRequest("baseVersionId is required: the version the client deletes (a newer edit is never deleted).");
        }

        return await files.DeleteAsync(id, path!, baseVersionId.Value, ct) is { } error ? SyncProblems.From(error) : TypedResults.NoContent();
    }

    private static async Task<IResult> Move(Guid id, MoveRequest request, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if ((InvalidPath(request.From, "from") ?? InvalidPath(request.To, "to")) is { } bad)
        {
            return bad;
        }

        var (version, error) = await files.MoveAsync(id, caller.UserId(), request.From, request.To, request.BaseVersionId, ct);
        return error is not null ? SyncProblems.From(error)
            : TypedResults.Created($"/api/v1/workspaces/{id}/files/info?path={Uri.EscapeDataString(version!.Path)}", version);
    }

    private static async Task<IResult> Trash(Guid id, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct) =>
        await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) ?? TypedResults.Ok(await files.TrashAsync(id, ct));

    private static async Task<IResult> Undelete(Guid id, TrashRestoreRequest request, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if (InvalidPath(request.Path) is { } bad)
        {
            return bad;
        }

        var (version, error, quota) = await files.UndeleteAsync(id, request.Path, ct);
        return quota is not null ? SyncProblems.Quota(quota)
            : error is not null ? SyncProblems.From(error)
            : TypedResults.Created($"/api/v1/workspaces/{id}/files/info?path={Uri.EscapeDataString(version!.Path)}", version);
    }

    private static async Task<IResult> Purge(Guid id, string? path, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Editor, ct) is { } denied)
        {
            return denied;
        }

        if (InvalidPath(path) is { } bad)
        {
            return bad;
        }

        return await files.PurgeAsync(id, path!, ct) is { } error ? SyncProblems.From(error) : TypedResults.NoContent();
    }

    // ---------------------------------------------------------------- change feed

    private static async Task<IResult> Changes(Guid id, string? cursor, int? limit, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (BadFeedArguments(cursor, limit, out var after) is { } bad)
        {
            return bad;
        }

        return TypedResults.Ok(await files.ChangesAsync(id, after, limit ?? DefaultListLimit, ct));
    }

    private static async Task<IResult> Latest(Guid id, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files, CancellationToken ct) =>
        await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct)
        ?? TypedResults.Ok(new ChangesResponse([], FileStore.Cursor(await files.CurrentSeqAsync(null, id, ct)), false));

    private static async Task<IResult> Poll(Guid id, string? cursor, int? timeout, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files,
        ChangeNotifier notifier, TimeProvider time, IOptions<HeadyMeOptions> options, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) is { } denied)
        {
            return denied;
        }

        if (BadFeedArguments(cursor, null, out var after) is { } bad)
        {
            return bad;
        }

        if (timeout is < 1 or > SyncApi.MaxPollSeconds)
        {
            return Problems.BadRequest($"timeout must be 1-{SyncApi.MaxPollSeconds} seconds.");
        }

        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(timeout ?? SyncApi.DefaultPollSeconds);
        while (true)
        {
            // Taken before reading, so a change committed in between still wakes us.
            var wake = notifier.NextChange(id);
            var changes = await files.ChangesAsync(id, after, DefaultListLimit, ct);
            var remaining = deadline - time.GetUtcNow();
            if (changes.Changes.Count > 0 || remaining <= TimeSpan.Zero)
            {
                return TypedResults.Ok(changes);
            }

            var recheck = notifier.Subscribed ? options.Value.PollSafetyInterval : options.Value.PollFallbackInterval;
            await Task.WhenAny(wake, Task.Delay(remaining < recheck ? remaining : recheck, time, ct));
            ct.ThrowIfCancellationRequested();
        }
    }

    private static async Task Stream(Guid id, string? cursor, HttpContext context, ClaimsPrincipal caller, WorkspaceAccess access, FileStore files,
        ChangeNotifier notifier, TimeProvider time, IOptions<HeadyMeOptions> options, IOptions<JsonOptions> json)
    {
        var ct = context.RequestAborted;
        if ((await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct) ?? BadFeedArguments(cursor, null, out _)) is { } problem)
        {
            await problem.ExecuteAsync(context);
            return;
        }

        FileStore.TryParseCursor(cursor, out var after);
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var keepAlive = TimeSpan.FromSeconds(15);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var wake = notifier.NextChange(id);
                var changes = await files.ChangesAsync(id, after, DefaultListLimit, ct);
                if (changes.Changes.Count > 0)
                {
                    FileStore.TryParseCursor(changes.Cursor, out after);
                    await context.Response.WriteAsync($"event: changes\ndata: {JsonSerializer.Serialize(changes, json.Value.SerializerOptions)}\n\n", ct);
                    await context.Response.Body.FlushAsync(ct);
                    if (changes.HasMore)
                    {
                        continue;
                    }
                }

                var recheck = notifier.Subscribed ? keepAlive : options.Value.PollFallbackInterval;
                if (await Task.WhenAny(wake, Task.Delay(recheck, time, ct)) != wake)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", ct);
                    await context.Response.Body.FlushAsync(ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    // ---------------------------------------------------------------- helpers

    private static IResult? InvalidPath(string? path, string name = "path")
    {
        var check = WorkspacePath.Validate(path);
        return check.IsValid ? null : TypedResults.ValidationProblem(new Dictionary<string, string[]> { [name] = [check.Error!] }, detail: check.Error);
    }

    private static IResult? BadFeedArguments(string? cursor, int? limit, out long after)
    {
        if (!FileStore.TryParseCursor(cursor, out after))
        {
            return Problems.BadRequest($"'{Shorten(cursor)}' is not a cursor of this workspace's change feed.");
        }

        return limit is < 1 or > MaxListLimit ? Problems.BadRequest($"limit must be 1-{MaxListLimit}.") : null;
    }

    /// <summary>An absent or empty versionId means the current version (clients format a null as empty).</summary>
    private static bool TryParseVersion(string? text, out Guid? versionId)
    {
        versionId = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (Guid.TryParse(text, out var parsed))
        {
            versionId = parsed;
            return true;
        }

        return false;
    }

    private static IResult BadVersion(string? text) => Problems.BadRequest($"versionId '{Shorten(text)}' is not a version id (a GUID).");

    private static IResult NoFile(string path, Guid? versionId) =>
        Problems.NotFound(versionId is null ? $"There is no file at '{path}'." : $"There is no version {versionId} of '{path}'.");

    private static string Shorten(string? s) => s is { Length: > 80 } ? s[..80] + "…" : s ?? "";
}
