using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using HeadyMe.Sync;
using HeadyMe.Sync.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Infrastructure;
using Npgsql;
using SyncManager;
using SyncManager.Infrastructure;

namespace HeadyClouds.Backup.Tests;

/// <summary>
/// A small platform on the real servers: SyncManager's and HeadyMe.Sync's databases through the running services,
/// Monorepo.Sync's through its migrations, HeadyMe's encrypted chunks in the object store, and mirrored repositories.
/// </summary>
public sealed class Stack : IAsyncDisposable
{
    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public string SigningKey { get; } = "drill-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(21));

    public string RootKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string SyncManagerDb { get; } = TestDatabases.NewName("bk_sm");

    public string HeadyMeDb { get; } = TestDatabases.NewName("bk_hm");

    public string MonorepoDb { get; } = TestDatabases.NewName("bk_mr");

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "h5-backup-" + Guid.NewGuid().ToString("N")[..8]);

    public string Mirrors => Path.Combine(Root, "mirrors");

    public IObjectStore Store { get; } = new MinioObjectStore(MinioObjectStore.CreateClient(ObjectStoreSettings.Parse(TestServers.S3Raw)));

    public ServiceHost<SyncManagerDbContext>? SyncManager { get; private set; }

    public ServiceHost<HeadyMeDbContext>? HeadyMe { get; private set; }

    public List<Guid> Workspaces { get; } = [];

    public string[] Databases => [SyncManagerDb, HeadyMeDb, MonorepoDb];

    public IReadOnlyList<DatabaseSource> DatabaseSources =>
    [
        new("syncmanager", TestDatabases.ConnectionString(SyncManagerDb)),
        new("headyme", TestDatabases.ConnectionString(HeadyMeDb)),
        new("monorepo", TestDatabases.ConnectionString(MonorepoDb)),
    ];

    public IReadOnlyList<ObjectSource> ObjectSources => Workspaces.Select(w => new ObjectSource(HeadyMeServices.ChunkBucket, $"{w:N}/")).ToArray();

    public async Task CreateDatabasesAsync()
    {
        foreach (var db in Databases)
        {
            await TestDatabases.CreateAsync(db);
        }

        Directory.CreateDirectory(Mirrors);
    }

    /// <summary>Starts SyncManager and HeadyMe.Sync on the databases (migrating them when asked).</summary>
    public async Task StartServicesAsync(bool migrate)
    {
        SyncManager = new ServiceHost<SyncManagerDbContext>(new Dictionary<string, string>
        {
            [$"ConnectionStrings:{SyncManagerServices.DatabaseResource}"] = TestDatabases.ConnectionString(SyncManagerDb),
            ["ConnectionStrings:redis"] = TestServers.Redis,
        }, SigningKey);
        HeadyMe = new ServiceHost<HeadyMeDbContext>(new Dictionary<string, string>
        {
            [$"ConnectionStrings:{HeadyMeServices.DatabaseResource}"] = TestDatabases.ConnectionString(HeadyMeDb),
            ["ConnectionStrings:redis"] = TestServers.Redis,
            ["ConnectionStrings:objectstore"] = TestServers.S3Raw,
            ["Encryption:ActiveKeyId"] = "root-1",
            ["Encryption:Keys:root-1"] = RootKey,
        }, SigningKey);
        if (migrate)
        {
            await SyncManager.MigrateAsync();
            await HeadyMe.MigrateAsync(async (services, db) =>
            {
                try
                {
                    await HeadyMeServices.PrepareStorageAsync(services, db, CancellationToken.None);
                }
                catch (Minio.Exceptions.MinioException)
                {
                    // Another test project created the shared chunk bucket at the same moment.
                    Assert.True(await Store.BucketExistsAsync(HeadyMeServices.ChunkBucket, CancellationToken.None));
                }
            });
            var options = new DbContextOptionsBuilder<MonorepoDbContext>().UseNpgsql(TestDatabases.ConnectionString(MonorepoDb)).Options;
            await using var monorepo = new MonorepoDbContext(options);
            await monorepo.Database.MigrateAsync();
        }
    }

    public async Task StopServicesAsync()
    {
        if (SyncManager is not null)
        {
            await SyncManager.DisposeAsync();
            SyncManager = null;
        }

        if (HeadyMe is not null)
        {
            await HeadyMe.DisposeAsync();
            HeadyMe = null;
        }

        // Pooled connections to databases about to be dropped would be handed out broken after the restore.
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Drops the databases, deletes the chunk objects and the mirrors: an empty stack.</summary>
    public async Task WipeAsync()
    {
        await StopServicesAsync();
        foreach (var db in Databases)
        {
            await TestDatabases.DropAsync(db);
        }

        foreach (var source in ObjectSources)
        {
            var keys = new List<string>();
            await foreach (var item in Store.ListAsync(source.Bucket, source.Prefix, CancellationToken.None))
            {
                keys.Add(item.Key);
            }

            foreach (var key in keys)
            {
                await Store.DeleteAsync(source.Bucket, key, CancellationToken.None);
            }
        }

        if (Directory.Exists(Mirrors))
        {
            Directory.Delete(Mirrors, recursive: true);
        }
    }

    public async Task<CallerIdentity> CreateUserAsync(string role = "user")
    {
        var username = "u-" + Callers.Unique();
        var response = await SyncManager!.PostAsync("/api/v1/users", Callers.Admin(), new { username, role });
        var json = await response.AssertJsonAsync(HttpStatusCode.Created);
        return new CallerIdentity(CallerKind.User, json.GetProperty("id").GetGuid().ToString(), username, [role], Callers.AllScopes, Guid.NewGuid().ToString());
    }

    public async Task<string> CreateTokenAsync(CallerIdentity user, string name)
    {
        var response = await SyncManager!.PostAsync("/api/v1/tokens", user, new { name, expiresInDays = 30, scopes = new[] { "workspaces:read" } });
        return (await response.AssertJsonAsync(HttpStatusCode.Created)).GetProperty("token").GetString()!;
    }

    public async Task<JsonElement> IntrospectAsync(string token) =>
        await (await SyncManager!.PostAsync(TokenIntrospection.Path, Callers.Gateway, new { token })).AssertJsonAsync(HttpStatusCode.OK);

    public static string Ws(Guid id) => $"/api/v1/workspaces/{id}";

    public async Task<Guid> CreateWorkspaceAsync(CallerIdentity owner)
    {
        var created = await (await HeadyMe!.PostAsync("/api/v1/workspaces", owner, new { name = "ws-" + Callers.Unique() })).AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();
        Workspaces.Add(id);
        return id;
    }

    private static List<byte[]> Split(byte[] content)
    {
        var chunks = new List<byte[]>();
        for (var offset = 0; offset < content.Length; offset += 64 * 1024)
        {
            chunks.Add(content[offset..Math.Min(content.Length, offset + 64 * 1024)]);
        }

        return chunks;
    }

    private static string Id(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public async Task UploadAsync(Guid ws, CallerIdentity caller, byte[] content)
    {
        using var buffer = new MemoryStream();
        var writer = new ChunkPackWriter(buffer);
        foreach (var chunk in Split(content))
        {
            await writer.WriteAsync(chunk);
        }

        var body = new ByteArrayContent(buffer.ToArray());
        body.Headers.ContentType = new MediaTypeHeaderValue(SyncApi.ChunkPackContentType);
        await (await HeadyMe!.SendAsync(HttpMethod.Post, $"{Ws(ws)}/chunks", caller, body)).AssertStatusAsync(HttpStatusCode.OK);
    }

    public static CommitFileRequest FileRequest(string path, byte[] content, Guid? baseVersion, string device = "laptop") =>
        new(path, baseVersion, Split(content).Select(Id).ToArray(), content.Length, Id(content), DateTimeOffset.UtcNow, 420, device);

    public async Task<HttpResponseMessage> CommitAsync(Guid ws, CallerIdentity caller, string path, byte[] content, Guid? baseVersion, string device = "laptop")
    {
        await UploadAsync(ws, caller, content);
        return await HeadyMe!.PostAsync($"{Ws(ws)}/files", caller, FileRequest(path, content, baseVersion, device));
    }

    public async Task<FileVersionInfo> PutAsync(Guid ws, CallerIdentity caller, string path, byte[] content, Guid? baseVersion = null)
    {
        var response = await CommitAsync(ws, caller, path, content, baseVersion);
        return (await response.AssertJsonAsync(HttpStatusCode.Created)).Deserialize<FileVersionInfo>(Json)!;
    }

    public async Task<T> GetJsonAsync<T>(string path, CallerIdentity caller) =>
        (await (await HeadyMe!.GetAsync(path, caller)).AssertJsonAsync(HttpStatusCode.OK)).Deserialize<T>(Json)!;

    /// <summary>What a user sees: every live file's bytes and version ids, every version's bytes, and the trash.</summary>
    public async Task<SortedDictionary<string, string>> UserViewAsync(Guid ws, CallerIdentity caller)
    {
        var view = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var files = await GetJsonAsync<FileListResponse>($"{Ws(ws)}/files?limit=5000", caller);
        foreach (var file in files.Files)
        {
            var versions = await GetJsonAsync<FileVersionInfo[]>($"{Ws(ws)}/files/versions?path={Uri.EscapeDataString(file.Path)}", caller);
            foreach (var version in versions)
            {
                var response = await HeadyMe!.GetAsync($"{Ws(ws)}/files/content?path={Uri.EscapeDataString(file.Path)}&versionId={version.Id}", caller);
                await response.AssertStatusAsync(HttpStatusCode.OK);
                view[$"{file.Path} @ {version.Id}"] = Id(await response.Content.ReadAsByteArrayAsync()) + " " + version.Size;
            }
        }

        var trash = await (await HeadyMe!.GetAsync($"{Ws(ws)}/trash", caller)).AssertJsonAsync(HttpStatusCode.OK);
        view["trash"] = trash.ToString();
        view["cursor"] = (await GetJsonAsync<ChangesResponse>($"{Ws(ws)}/changes/latest", caller)).Cursor;
        return view;
    }

    public async ValueTask DisposeAsync()
    {
        await WipeAsync();
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}
