using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using HeadyMe.Sync.Infrastructure;
using Minio;

namespace HeadyMe.Sync.Tests;

public class HeadyMeFixture : ServiceFixture<HeadyMeDbContext>
{
    public static readonly string[] ReadWrite = ["workspaces:read", "workspaces:write"];
    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>Chunk size the tests cut files into (the server accepts any boundaries).</summary>
    public const int TestChunkSize = 64 * 1024;

    protected override string DatabaseResource => HeadyMeServices.DatabaseResource;

    protected override string ServiceName => "headyme";

    protected override bool UsesObjectStore => true;

    protected override bool UsesRedis => true;

    public string RootKeyText { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "root-1"),
        new("Encryption:Keys:root-1", RootKeyText),
        .. Settings,
    ];

    /// <summary>Further settings of derived fixtures (quota, Redis).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> Settings => [];

    /// <summary>The migration step also creates the chunk bucket, which /health checks.</summary>
    protected override async Task PrepareAsync(IServiceProvider services, HeadyMeDbContext db)
    {
        try
        {
            await HeadyMeServices.PrepareStorageAsync(services, db, CancellationToken.None);
        }
        catch (Minio.Exceptions.MinioException)
        {
            // Fixtures of several test classes start at once on the same S3 server; one of them created it.
            Assert.True(await RawStore().BucketExistsAsync(new Minio.DataModel.Args.BucketExistsArgs().WithBucket(HeadyMeServices.ChunkBucket)));
        }
    }

    public IMinioClient RawStore()
    {
        var s3 = TestServers.S3;
        return new MinioClient().WithEndpoint(s3.Endpoint.Host, s3.Endpoint.Port).WithCredentials(s3.AccessKey, s3.SecretKey).Build();
    }

    public static string Ws(Guid id) => $"/api/v1/workspaces/{id}";

    public async Task<Guid> CreateWorkspaceAsync(CallerIdentity owner)
    {
        var created = await (await PostAsync("/api/v1/workspaces", owner, new { name = "ws-" + Callers.Unique() })).AssertJsonAsync(HttpStatusCode.Created);
        return created.GetProperty("id").GetGuid();
    }

    public async Task AddMemberAsync(Guid workspace, CallerIdentity owner, CallerIdentity member, string role) =>
        await (await SendAsync(HttpMethod.Put, $"{Ws(workspace)}/members/{member.Id()}", owner, new { role })).AssertStatusAsync(HttpStatusCode.OK);

    public static List<byte[]> Split(byte[] content)
    {
        var chunks = new List<byte[]>();
        for (var offset = 0; offset < content.Length; offset += TestChunkSize)
        {
            chunks.Add(content[offset..Math.Min(content.Length, offset + TestChunkSize)]);
        }

        return chunks;
    }

    public static string Id(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static ByteArrayContent Pack(IEnumerable<byte[]> chunks)
    {
        using var buffer = new MemoryStream();
        var writer = new ChunkPackWriter(buffer);
        foreach (var chunk in chunks)
        {
            writer.WriteAsync(chunk).GetAwaiter().GetResult();
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue(SyncApi.ChunkPackContentType);
        return content;
    }

    public async Task<ChunkUploadResponse> UploadAsync(Guid workspace, CallerIdentity caller, IEnumerable<byte[]> chunks)
    {
        var response = await SendAsync(HttpMethod.Post, $"{Ws(workspace)}/chunks", Assertion(caller), Pack(chunks));
        return (await response.AssertJsonAsync(HttpStatusCode.OK)).Deserialize<ChunkUploadResponse>(Json)!;
    }

    public static CommitFileRequest FileRequest(string path, byte[] content, Guid? baseVersion, string device = "laptop") =>
        new(path, baseVersion, Split(content).Select(Id).ToArray(), content.Length, Id(content), DateTimeOffset.UtcNow, 420, device);

    public Task<HttpResponseMessage> CommitAsync(Guid workspace, CallerIdentity caller, CommitFileRequest request) =>
        SendAsync(HttpMethod.Post, $"{Ws(workspace)}/files", caller, request);

    /// <summary>Uploads the content's chunks and commits it; asserts 201.</summary>
    public async Task<FileVersionInfo> PutFileAsync(Guid workspace, CallerIdentity caller, string path, byte[] content, Guid? baseVersion = null, string device = "laptop")
    {
        await UploadAsync(workspace, caller, Split(content));
        var response = await CommitAsync(workspace, caller, FileRequest(path, content, baseVersion, device));
        return (await response.AssertJsonAsync(HttpStatusCode.Created)).Deserialize<FileVersionInfo>(Json)!;
    }

    public async Task<byte[]> DownloadAsync(Guid workspace, CallerIdentity caller, string path)
    {
        var response = await GetAsync($"{Ws(workspace)}/files/content?path={Uri.EscapeDataString(path)}", caller);
        await response.AssertStatusAsync(HttpStatusCode.OK);
        return await response.Content.ReadAsByteArrayAsync();
    }

    public async Task<T> GetJsonAsync<T>(string path, CallerIdentity caller) =>
        (await (await GetAsync(path, caller)).AssertJsonAsync(HttpStatusCode.OK)).Deserialize<T>(Json)!;

    public async Task<string> CursorAsync(Guid workspace, CallerIdentity caller) =>
        (await GetJsonAsync<ChangesResponse>($"{Ws(workspace)}/changes/latest", caller)).Cursor;
}
