using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// Usage: MeshBench [seconds-per-run=10] [concurrency=8] [rounds=3]
var seconds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 10;
var concurrency = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8;

// A CA and two workload certificates, exactly the profile the real CA issues.
using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
var now = DateTimeOffset.UtcNow;
var ca = CertificateProfiles.CreateCaCertificate(caKey, 1, now, TimeSpan.FromDays(1));
X509Certificate2 Issue(string service)
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var publicKey = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).PublicKey;
    using var certificate = CertificateProfiles.CreateWorkloadCertificate(publicKey, SpiffeId.ForService(service), ["localhost", "127.0.0.1"], ca, caKey, now, TimeSpan.FromHours(24), TimeSpan.FromSeconds(30), CertificateProfiles.NewSerial());
    using var withKey = certificate.CopyWithPrivateKey(key);
    return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
}

var server = new StaticMeshCredentials(Issue("heady-me-sync"), [ca]);
var gateway = new StaticMeshCredentials(Issue("gateway"), [ca]);

var builder = WebApplication.CreateBuilder();
builder.Logging.ClearProviders();
builder.Services.AddSingleton<IMeshCredentials>(server);
builder.Services.AddMeshAuthentication();
builder.Services.AddAuthorization();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, 0);                                                  // plain HTTP
    kestrel.Listen(IPAddress.Loopback, 0, l => l.UseHttps(h => h.UseMeshTls(server)));       // mTLS, resumption allowed
    kestrel.Listen(IPAddress.Loopback, 0, l => l.UseHttps(h =>                                // mTLS, every handshake full
    {
        h.UseMeshTls(server);
        h.OnAuthenticate = (_, ssl) => ssl.AllowTlsResume = false;
    }));
    kestrel.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http1AndHttp2);
});
var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapGet("/api/ping", () => "pong");
app.MapGet("/api/ping-authz", () => "pong").RequireCaller("gateway");
await app.StartAsync();
var addresses = app.Urls.ToList();
var plain = new Uri(addresses[0]);
var mtls = new Uri(addresses[1].Replace("http://", "https://", StringComparison.Ordinal));
var fullHandshake = new Uri(addresses[2].Replace("http://", "https://", StringComparison.Ordinal));

HttpClient Client(bool tls, bool reuse)
{
    var handler = new SocketsHttpHandler { PooledConnectionLifetime = reuse ? Timeout.InfiniteTimeSpan : TimeSpan.Zero, MaxConnectionsPerServer = concurrency };
    if (tls)
    {
        handler.ConfigureMeshClient(gateway, "heady-me-sync");
    }

    return new HttpClient(handler);
}

async Task<(double Rps, double P50, double P99, long Count)> RunAsync(HttpClient client, Uri url, int workers, TimeSpan duration)
{
    // Warm-up: JIT, first connections.
    for (var i = 0; i < 200; i++)
    {
        (await client.GetAsync(url)).EnsureSuccessStatusCode();
    }

    var latencies = new List<double>[workers];
    var stop = Stopwatch.StartNew();
    var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
    {
        var mine = latencies[w] = new List<double>(100_000);
        while (stop.Elapsed < duration)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(url);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
            mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    })).ToArray();
    await Task.WhenAll(tasks);
    var elapsed = stop.Elapsed.TotalSeconds;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    return (all.Length / elapsed, all[all.Length / 2], all[(int)(all.Length * 0.99)], all.Length);
}

var duration = TimeSpan.FromSeconds(seconds);
var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
var scenarios = new (string Name, bool Tls, bool Reuse, Uri Url, int Workers)[]
{
    ("plain HTTP/1.1, keep-alive", false, true, new Uri(plain, "/api/ping"), concurrency),
    ("mTLS 1.3, keep-alive", true, true, new Uri(mtls, "/api/ping"), concurrency),
    ("mTLS 1.3, keep-alive, RequireCaller(gateway)", true, true, new Uri(mtls, "/api/ping-authz"), concurrency),
    ("plain HTTP, new connection per request (1 worker)", false, false, new Uri(plain, "/api/ping"), 1),
    ("mTLS, new connection, resumption allowed (1 worker)", true, false, new Uri(mtls, "/api/ping"), 1),
    ("mTLS, new connection, full handshake (1 worker)", true, false, new Uri(fullHandshake, "/api/ping"), 1),
    ($"mTLS, full handshake per request ({concurrency} workers)", true, false, new Uri(fullHandshake, "/api/ping"), concurrency),
};

Console.WriteLine($"# mesh benchmark: {Environment.ProcessorCount} cores, {concurrency} concurrent workers, {seconds} s per run, {rounds} interleaved rounds (median shown), loopback, client and server in one process");
var results = scenarios.Select(_ => new List<(double Rps, double P50, double P99, long Count)>()).ToArray();
for (var round = 0; round < rounds; round++)
{
    for (var i = 0; i < scenarios.Length; i++)
    {
        using var client = Client(scenarios[i].Tls, scenarios[i].Reuse);
        results[i].Add(await RunAsync(client, scenarios[i].Url, scenarios[i].Workers, duration));
    }
}

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted[sorted.Length / 2];
}

Console.WriteLine($"{"run",-58} {"req/s",10} {"p50 ms",8} {"p99 ms",8} {"requests",9}");
for (var i = 0; i < scenarios.Length; i++)
{
    var r = results[i];
    Console.WriteLine($"{scenarios[i].Name,-58} {Median(r.Select(x => x.Rps)),10:F0} {Median(r.Select(x => x.P50)),8:F3} {Median(r.Select(x => x.P99)),8:F3} {r.Sum(x => x.Count),9}");
}

var plainNew = Median(results[3].Select(x => x.P50));
var fullNew = Median(results[5].Select(x => x.P50));
Console.WriteLine($"full mTLS handshake cost (p50 new-connection mTLS minus plain): {fullNew - plainNew:F3} ms");

await app.StopAsync();
