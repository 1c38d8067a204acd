using System.Security.Cryptography;
using Heady.Cli.Api;
using Heady.Cli.Sync;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Testing;
using HeadyMe.Sync;
using HeadyMe.Sync.Infrastructure;

namespace Heady.Cli.Tests.Sync;

/// <summary>The real HeadyMe.Sync in-process on fresh PostgreSQL/Redis/S3 state, as the CLI's server.</summary>
public sealed class SyncFixture : ServiceFixture<HeadyMeDbContext>
{
    protected override string DatabaseResource => HeadyMeServices.DatabaseResource;

    protected override string ServiceName => "heady_cli";

    protected override bool UsesObjectStore => true;

    protected override bool UsesRedis => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "k1"),
        new("Encryption:Keys:k1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))),
    ];

    protected override Task PrepareAsync(IServiceProvider services, HeadyMeDbContext db) =>
        HeadyMeServices.PrepareStorageAsync(services, db, CancellationToken.None);

    /// <summary>
    /// What `heady` gets from the gateway, minus the gateway: an HttpClient to the service whose every request carries
    /// a fresh signed identity of <paramref name="caller"/>; extra handlers sit in front (to interrupt or tamper).
    /// </summary>
    public HeadyApiClient ApiFor(CallerIdentity caller, params DelegatingHandler[] handlers) =>
        new(Factory.CreateDefaultClient([.. handlers, new IdentityHandler(this, caller)]));

    private sealed class IdentityHandler(SyncFixture fx, CallerIdentity caller) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Remove(HeadyHeaders.Identity);
            request.Headers.TryAddWithoutValidation(HeadyHeaders.Identity, fx.Assertion(caller));
            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>One device: a folder with its own state, syncing one workspace as one user.</summary>
public sealed class Device : IDisposable
{
    private readonly Local.TempFolder folder = new();
    private readonly LocalState state;

    public Device(HeadyApiClient api, Guid workspace, string name)
    {
        Api = api;
        state = LocalState.Open(folder.Path);
        state.WorkspaceId = workspace;
        Engine = new SyncEngine(api, state, folder.Path, workspace, new SyncOptions(name) { PackTargetBytes = 4 * 1024 * 1024 });
    }

    public HeadyApiClient Api { get; }

    public SyncEngine Engine { get; }

    public string Root => folder.Path;

    public LocalState State => state;

    public Task<SyncReport> SyncAsync(SyncDirection direction = SyncDirection.Both) => Engine.RunAsync(direction);

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public void Write(string relative, string content) => Write(relative, System.Text.Encoding.UTF8.GetBytes(content));

    public void Write(string relative, byte[] content)
    {
        var full = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        // Same-second rewrites must still look changed to the stat comparison on any file system.
        File.SetLastWriteTimeUtc(full, DateTime.UtcNow.AddSeconds(Random.Shared.Next(1, 1000)));
    }

    public string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>Every synced file (not .heady/) with its content, for comparing two devices.</summary>
    public SortedDictionary<string, string> Snapshot()
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            var relative = LocalPaths.ToWorkspacePath(Root, file);
            if (!relative.StartsWith(".heady/", StringComparison.Ordinal))
            {
                result[relative] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
            }
        }

        return result;
    }

    public void Dispose()
    {
        state.Dispose();
        folder.Dispose();
    }
}
