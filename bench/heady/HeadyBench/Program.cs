using System.Diagnostics;
using System.Security.Cryptography;
using Heady.Cli.Api;
using Heady.Cli.Sync;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Testing;
using HeadyMe.Sync;
using HeadyMe.Sync.Infrastructure;

// heady sync benchmark: initial sync of SMALL × 4 KiB files + one BIG MiB file, re-sync after touching 1 % of the small
// files, a 1-byte edit in the big file, and a second device's initial pull. The service runs in-process (no gateway,
// no network hop), so figures are the client + service + PostgreSQL + S3 cost. Usage: [small files] [big MiB].
var smallCount = args.Length > 0 ? int.Parse(args[0]) : 10_000;
var bigMiB = args.Length > 1 ? int.Parse(args[1]) : 1024;
var work = Directory.CreateTempSubdirectory("heady-bench-").FullName;
var folderA = Path.Combine(work, "a");
var folderB = Path.Combine(work, "b");
Directory.CreateDirectory(folderA);
Directory.CreateDirectory(folderB);

Console.Error.WriteLine($"generating {smallCount} × 4 KiB + {bigMiB} MiB in {folderA} ...");
var rng = new Random(42);
var buffer = new byte[4096];
for (var i = 0; i < smallCount; i++)
{
    rng.NextBytes(buffer);
    var path = Path.Combine(folderA, $"d{i % 100:D3}", $"f{i:D6}.bin");
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    File.WriteAllBytes(path, buffer);
}

var bigPath = Path.Combine(folderA, "big.bin");
using (var big = File.Create(bigPath))
{
    var block = new byte[1 << 20];
    for (var i = 0; i < bigMiB; i++)
    {
        rng.NextBytes(block);
        big.Write(block);
    }
}

var fixture = new BenchFixture();
await fixture.InitializeAsync();
try
{
    var user = Callers.NewUser("workspaces:read", "workspaces:write");
    var api = new HeadyApiClient(fixture.Factory.CreateDefaultClient(new IdentityHandler(fixture, user)));
    api.Http.Timeout = TimeSpan.FromMinutes(30);
    var workspace = await api.CreateWorkspaceAsync("bench");
    using var stateA = LocalState.Open(folderA);
    using var stateB = LocalState.Open(folderB);
    // Phase timings go to stderr (BENCH_PHASES=1), to see where a step's time goes.
    ISyncProgress? phases = Environment.GetEnvironmentVariable("BENCH_PHASES") == "1" ? new PhaseTimer() : null;
    var a = new SyncEngine(api, stateA, folderA, workspace.Id, new SyncOptions("a"), phases);
    var b = new SyncEngine(api, stateB, folderB, workspace.Id, new SyncOptions("b"));
    var totalBytes = smallCount * 4096L + bigMiB * (1L << 20);

    Console.WriteLine($"heady sync, {smallCount} × 4 KiB + {bigMiB} MiB ({totalBytes / 1e6:F0} MB), service in-process on real PostgreSQL/Redis/S3, {Environment.ProcessorCount} cores");
    Console.WriteLine("| step | time | files/s | MB/s | chunks sent / received | bytes sent / received |");
    Console.WriteLine("|---|---|---|---|---|---|");

    async Task Step(string name, SyncEngine engine, int files, long bytes)
    {
        var sw = Stopwatch.StartNew();
        var report = await engine.RunAsync();
        sw.Stop();
        if (report.Failed.Count > 0)
        {
            throw new InvalidOperationException($"{name}: {report.Failed.Count} failed, first: {report.Failed[0]}");
        }

        var secs = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"| {name} | {secs:F1} s | {(files > 0 ? $"{files / secs:F0}" : "-")} | {(bytes > 0 ? $"{bytes / 1e6 / secs:F0}" : "-")} | {report.ChunksUploaded} / {report.ChunksDownloaded} | {report.BytesUploaded:N0} / {report.BytesDownloaded:N0} |");
    }

    await Step("A: initial push", a, smallCount + 1, totalBytes);
    await Step("A: no-op re-sync", a, 0, 0);

    var touched = smallCount / 100;
    for (var i = 0; i < touched; i++)
    {
        var path = Path.Combine(folderA, $"d{(i * 100) % 100:D3}", $"f{i * 100:D6}.bin");
        rng.NextBytes(buffer);
        File.WriteAllBytes(path, buffer);
    }

    await Step($"A: re-sync after touching 1 % ({touched} files)", a, touched, touched * 4096L);

    using (var big = new FileStream(bigPath, FileMode.Open, FileAccess.ReadWrite))
    {
        big.Position = big.Length / 2;
        var one = big.ReadByte();
        big.Position = big.Length / 2;
        big.WriteByte((byte)(one ^ 0xFF));
    }

    File.SetLastWriteTimeUtc(bigPath, DateTime.UtcNow.AddSeconds(5));
    await Step("A: re-sync after a 1-byte edit in the big file", a, 1, 0);
    await Step("B: initial pull", b, smallCount + 1, totalBytes);
}
finally
{
    await fixture.DisposeAsync();
    Directory.Delete(work, recursive: true);
}

internal sealed class PhaseTimer : ISyncProgress
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private string phase = "start";

    private void Mark(string next)
    {
        Console.Error.WriteLine($"  {phase}: {clock.Elapsed.TotalSeconds:F2} s");
        clock.Restart();
        phase = next;
    }

    public void Status(string message) => Mark(message);
    public void BeginTransfer(string label, long totalBytes) => Mark($"{label} {totalBytes} bytes");
    public void Advance(long bytes) { }
    public void EndTransfer() => Mark("after transfer");
}

internal sealed class BenchFixture : ServiceFixture<HeadyMeDbContext>
{
    protected override string DatabaseResource => HeadyMeServices.DatabaseResource;

    protected override string ServiceName => "heady_bench";

    protected override bool UsesObjectStore => true;

    protected override bool UsesRedis => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "k1"),
        new("Encryption:Keys:k1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))),
        new("HeadyMe:QuotaBytes", (100L << 30).ToString()),
    ];

    protected override Task PrepareAsync(IServiceProvider services, HeadyMeDbContext db) =>
        HeadyMeServices.PrepareStorageAsync(services, db, CancellationToken.None);
}

internal sealed class IdentityHandler(BenchFixture fx, CallerIdentity caller) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Remove(HeadyHeaders.Identity);
        request.Headers.TryAddWithoutValidation(HeadyHeaders.Identity, fx.Assertion(caller));
        return base.SendAsync(request, cancellationToken);
    }
}
