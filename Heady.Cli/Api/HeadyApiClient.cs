using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Protocol;

namespace Heady.Cli.Api;

public sealed record WorkspaceInfo(Guid Id, string Name, Guid OwnerId, string Role, DateTimeOffset CreatedAt);

public sealed record UserInfo(Guid Id, string Username, string? DisplayName, string Role);

/// <summary>An error answer of the API, with what the user should do about it.</summary>
public sealed class HeadyApiException(HttpStatusCode status, string message, JsonElement? problem)
    : CliException(ExitCodeFor(status), message)
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The RFC 7807 body, when there was one (extensions such as <c>current</c> live here).</summary>
    public JsonElement? Problem { get; } = problem;

    private static int ExitCodeFor(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => ExitCodes.Auth,
        HttpStatusCode.NotFound => ExitCodes.NotFound,
        HttpStatusCode.InsufficientStorage => ExitCodes.Quota,
        _ => ExitCodes.Error,
    };
}

/// <summary>
/// The HeadyMe.Sync API (docs/headyme-sync.md) over an <see cref="HttpClient"/> whose BaseAddress is the gateway (or,
/// in tests, the service itself with an identity header added by a handler). Authentication is the client's business.
/// </summary>
public sealed class HeadyApiClient(HttpClient http)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public const int MissingQueryBatch = 900;

    public HttpClient Http => http;

    private static string Ws(Guid id) => SyncApi.Workspace(id);

    private static string Q(string value) => Uri.EscapeDataString(value);

    // ---- identity, workspaces ----

    public Task<UserInfo> MeAsync(CancellationToken ct = default) => GetAsync<UserInfo>("/api/v1/users/me", ct);

    public Task<List<UserInfo>> ListUsersAsync(CancellationToken ct = default) => GetAsync<List<UserInfo>>("/api/v1/users", ct);

    public Task<List<WorkspaceInfo>> ListWorkspacesAsync(CancellationToken ct = default) => GetAsync<List<WorkspaceInfo>>("/api/v1/workspaces", ct);

    public Task<WorkspaceInfo> CreateWorkspaceAsync(string name, CancellationToken ct = default) =>
        SendAsync<WorkspaceInfo>(HttpMethod.Post, "/api/v1/workspaces", JsonContent.Create(new { name }, options: Json), ct);

    /// <summary>A workspace by id or by name (names compared without regard to case, as the server does).</summary>
    public async Task<WorkspaceInfo> ResolveWorkspaceAsync(string nameOrId, CancellationToken ct = default)
    {
        var all = await ListWorkspacesAsync(ct);
        var match = Guid.TryParse(nameOrId, out var id)
            ? all.Where(w => w.Id == id).ToList()
            : all.Where(w => string.Equals(w.Name, nameOrId.Normalize(), StringComparison.OrdinalIgnoreCase)).ToList();
        return match.Count switch
        {
            1 => match[0],
            0 => throw new CliException(ExitCodes.NotFound,
                $"No workspace '{nameOrId}' among yours ({(all.Count == 0 ? "you have none" : string.Join(", ", all.Select(w => w.Name)))}). Create it with `heady workspace create \"{nameOrId}\"`."),
            _ => throw new CliException(ExitCodes.Usage,
                $"Several workspaces are named '{nameOrId}' (shared with you by different owners): use the id instead ({string.Join(", ", match.Select(w => w.Id))})."),
        };
    }

    /// <summary>A user's id from an id, or from a username through the admin-only user list.</summary>
    public async Task<Guid> ResolveUserIdAsync(string idOrName, CancellationToken ct = default)
    {
        if (Guid.TryParse(idOrName, out var id))
        {
            return id;
        }

        List<UserInfo> users;
        try
        {
            users = await ListUsersAsync(ct);
        }
        catch (HeadyApiException e) when (e.Status == HttpStatusCode.Forbidden)
        {
            throw new CliException(ExitCodes.Usage, $"Only admins can look users up by name: ask '{idOrName}' for their user id (`heady status` shows it) and pass that.");
        }

        return users.FirstOrDefault(u => string.Equals(u.Username, idOrName, StringComparison.OrdinalIgnoreCase))?.Id
            ?? throw new CliException(ExitCodes.NotFound, $"No user named '{idOrName}'.");
    }

    public Task<MemberResponse> SetMemberAsync(Guid workspace, Guid userId, string role, CancellationToken ct = default) =>
        SendAsync<MemberResponse>(HttpMethod.Put, $"{Ws(workspace)}/members/{userId}", JsonContent.Create(new MemberRequest(role), options: Json), ct);

    public Task<List<MemberResponse>> ListMembersAsync(Guid workspace, CancellationToken ct = default) =>
        GetAsync<List<MemberResponse>>($"{Ws(workspace)}/members", ct);

    public Task<QuotaResponse> QuotaAsync(CancellationToken ct = default) => GetAsync<QuotaResponse>("/api/v1/quota", ct);

    // ---- admin ----

    public Task<UserQuotaResponse> UserQuotaAsync(Guid userId, CancellationToken ct = default) =>
        GetAsync<UserQuotaResponse>($"/api/v1/admin/quotas/{userId}", ct);

    public Task<UserQuotaResponse> SetUserQuotaAsync(Guid userId, long limitBytes, CancellationToken ct = default) =>
        SendAsync<UserQuotaResponse>(HttpMethod.Put, $"/api/v1/admin/quotas/{userId}", JsonContent.Create(new UserQuotaRequest(limitBytes), options: Json), ct);

    /// <summary>Back to the service-wide default (idempotent).</summary>
    public async Task ResetUserQuotaAsync(Guid userId, CancellationToken ct = default)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/admin/quotas/{userId}"), ct);
        await EnsureSuccessAsync(response, ct);
    }

    // ---- chunks ----

    public async Task<HashSet<string>> MissingChunksAsync(Guid workspace, IReadOnlyCollection<string> ids, CancellationToken ct = default)
    {
        var missing = new HashSet<string>(StringComparer.Ordinal);
        // The gateway limits this route's body to 64 KiB: ~900 ids (68 bytes each in JSON), not the service's 20,000.
        foreach (var batch in ids.Distinct(StringComparer.Ordinal).Chunk(MissingQueryBatch))
        {
            var answer = await SendAsync<MissingChunksResponse>(HttpMethod.Post, $"{Ws(workspace)}/chunks/missing",
                JsonContent.Create(new MissingChunksRequest(batch), options: Json), ct);
            missing.UnionWith(answer.Missing);
        }

        return missing;
    }

    /// <summary>Uploads one chunk pack (see <see cref="ChunkPack"/>).</summary>
    public Task<ChunkUploadResponse> UploadChunksAsync(Guid workspace, ReadOnlyMemory<byte> pack, CancellationToken ct = default)
    {
        var content = new ReadOnlyMemoryContent(pack);
        content.Headers.ContentType = new MediaTypeHeaderValue(ChunkPack.ContentType);
        return SendAsync<ChunkUploadResponse>(HttpMethod.Post, $"{Ws(workspace)}/chunks", content, ct);
    }

    public async Task<byte[]> GetChunkAsync(Guid workspace, string id, CancellationToken ct = default)
    {
        using var response = await http.GetAsync($"{Ws(workspace)}/chunks/{id}", ct);
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadAsByteArrayAsync(ct);
    }

    /// <summary>
    /// Many chunks in one request (`POST chunks/fetch`, at most <see cref="SyncApi.MaxChunkIdsPerFetch"/> ids): the
    /// server answers a prefix of them as a chunk pack; every record's hash is verified while reading. The caller asks
    /// again (or per chunk) for the ids not in the answer.
    /// </summary>
    public async Task<Dictionary<string, byte[]>> FetchChunksAsync(Guid workspace, IReadOnlyList<string> ids, CancellationToken ct = default)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Post, $"{Ws(workspace)}/chunks/fetch")
        {
            Content = JsonContent.Create(new FetchChunksRequest(ids), options: Json),
        }, ct, HttpCompletionOption.ResponseHeadersRead);
        await EnsureSuccessAsync(response, ct);
        var chunks = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new ChunkPackReader(body);
        while (await reader.ReadAsync(ct) is { } record)
        {
            chunks[record.Id.Value] = record.Data.ToArray();
        }

        return chunks;
    }

    // ---- files ----

    /// <summary>A whole file version streamed (the caller verifies its hash); dispose the response.</summary>
    public async Task<HttpResponseMessage> FileContentAsync(Guid workspace, string path, Guid versionId, CancellationToken ct = default)
    {
        var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Get, $"{Ws(workspace)}/files/content?path={Q(path)}&versionId={versionId}"), ct, HttpCompletionOption.ResponseHeadersRead);
        try
        {
            await EnsureSuccessAsync(response, ct);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public Task<CommitBatchResponse> CommitAsync(Guid workspace, IReadOnlyList<CommitFileRequest> files, CancellationToken ct = default) =>
        SendAsync<CommitBatchResponse>(HttpMethod.Post, $"{Ws(workspace)}/files/commit", JsonContent.Create(new CommitBatchRequest(files), options: Json), ct);

    public Task<FileDetails> FileInfoAsync(Guid workspace, string path, Guid? versionId = null, CancellationToken ct = default) =>
        GetAsync<FileDetails>($"{Ws(workspace)}/files/info?path={Q(path)}" + (versionId is { } v ? $"&versionId={v}" : ""), ct);

    public Task<List<FileVersionInfo>> VersionsAsync(Guid workspace, string path, CancellationToken ct = default) =>
        GetAsync<List<FileVersionInfo>>($"{Ws(workspace)}/files/versions?path={Q(path)}", ct);

    public Task<FileVersionInfo> RestoreAsync(Guid workspace, string path, Guid versionId, CancellationToken ct = default) =>
        SendAsync<FileVersionInfo>(HttpMethod.Post, $"{Ws(workspace)}/files/restore", JsonContent.Create(new RestoreRequest(path, versionId), options: Json), ct);

    /// <summary>Deletes (to the trash). False when the server kept a newer edit (409: edit wins over delete).</summary>
    public async Task<bool> DeleteFileAsync(Guid workspace, string path, Guid baseVersionId, CancellationToken ct = default)
    {
        using var response = await http.DeleteAsync($"{Ws(workspace)}/files?path={Q(path)}&baseVersionId={baseVersionId}", ct);
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            return response.StatusCode == HttpStatusCode.NotFound;
        }

        await EnsureSuccessAsync(response, ct);
        return true;
    }

    /// <summary>A server-side rename; null when the server refused it as stale or occupied (409), so the caller falls back to upload + delete.</summary>
    public async Task<FileVersionInfo?> MoveAsync(Guid workspace, MoveRequest move, CancellationToken ct = default)
    {
        using var response = await http.PostAsync($"{Ws(workspace)}/files/move", JsonContent.Create(move, options: Json), ct);
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync<FileVersionInfo>(Json, ct) ?? throw EmptyBody(response);
    }

    // ---- change feed ----

    public Task<ChangesResponse> ChangesAsync(Guid workspace, string? cursor, int limit = 1000, CancellationToken ct = default) =>
        GetAsync<ChangesResponse>($"{Ws(workspace)}/changes?limit={limit}" + (cursor is null ? "" : $"&cursor={Q(cursor)}"), ct);

    public Task<ChangesResponse> LatestAsync(Guid workspace, CancellationToken ct = default) =>
        GetAsync<ChangesResponse>($"{Ws(workspace)}/changes/latest", ct);

    public Task<ChangesResponse> PollAsync(Guid workspace, string? cursor, int timeoutSeconds, CancellationToken ct = default) =>
        GetAsync<ChangesResponse>($"{Ws(workspace)}/changes/poll?timeout={timeoutSeconds}" + (cursor is null ? "" : $"&cursor={Q(cursor)}"), ct);

    // ---- plumbing ----

    private async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Get, path), ct);
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct) ?? throw EmptyBody(response);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent content, CancellationToken ct)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(method, path) { Content = content }, ct);
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct) ?? throw EmptyBody(response);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken ct, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using (request)
        {
            try
            {
                return await http.SendAsync(request, completion, ct);
            }
            catch (HttpRequestException e)
            {
                throw new CliException(ExitCodes.Network, DescribeNetworkError(e, http.BaseAddress), e);
            }
        }
    }

    internal static string DescribeNetworkError(HttpRequestException e, Uri? gateway)
    {
        var inner = e.InnerException;
        while (inner?.InnerException is not null && inner is not System.Security.Authentication.AuthenticationException)
        {
            inner = inner.InnerException;
        }

        return inner is System.Security.Authentication.AuthenticationException
            ? $"The gateway {gateway}'s TLS certificate is not trusted ({inner.Message}). If it is signed by your platform's internal CA, run `heady login --ca <ca.pem>` to pin that CA."
            : $"Cannot reach the gateway {gateway} ({e.Message}). Check the URL (`heady login --gateway ...`) and that the gateway is running.";
    }

    private static HeadyApiException EmptyBody(HttpResponseMessage response) =>
        new(response.StatusCode, $"The server answered {(int)response.StatusCode} with an empty body to {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}.", null);

    public static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        JsonElement? problem = null;
        string? detail = null;
        try
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            if (body.Length > 0 && body.TrimStart().StartsWith('{'))
            {
                problem = JsonDocument.Parse(body).RootElement.Clone();
                detail = Text(problem.Value, "detail") ?? Text(problem.Value, "title");
                if (problem.Value.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                {
                    detail += " " + string.Join(" ", errors.EnumerateObject().SelectMany(p => p.Value.EnumerateArray().Select(v => v.GetString())));
                }
            }
        }
        catch (JsonException)
        {
            // Not a problem document: the status line is all we have.
        }

        var status = response.StatusCode;
        var request = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}";
        var hint = status switch
        {
            HttpStatusCode.Unauthorized => " Your token is missing, expired or revoked: run `heady login` with a valid token.",
            HttpStatusCode.Forbidden => " Your token lacks the scope for this (workspaces:read / workspaces:write) or your role in the workspace does not allow it.",
            HttpStatusCode.NotFound => " Check the name (`heady workspace list`); a workspace you are not a member of looks missing.",
            HttpStatusCode.InsufficientStorage => " Your storage quota is used up: delete files (and purge the trash) or ask an admin for more.",
            HttpStatusCode.RequestEntityTooLarge => " The request was larger than the gateway allows.",
            >= HttpStatusCode.InternalServerError => " The server failed; try again later and tell your admin if it persists.",
            _ => "",
        };
        throw new HeadyApiException(status, $"{detail ?? response.ReasonPhrase} (HTTP {(int)status} on {request}).{hint}", problem);
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
