// HeadyMe.Sync benchmark (bench/headyme/run.sh): the service in-process over its real HTTP pipeline (TestServer, no
// sockets) against real PostgreSQL, Redis and S3 (s3rver). Prints figures; asserts nothing.
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using HeadyMe.Sync;
using HeadyMe.Sync.Infrastructure;
using FileVersionInfo = HeadyClouds.Sync.Core.Protocol.FileVersionInfo;

var smallFiles = Arg(0, 10_000);
var ingestMiB = Arg(1, 256);
var pollRounds = Arg(2, 200);
var json = JsonSerializerOptions.Web;

var fx = new BenchFixture();
await fx.InitializeAsync();
try
{
    var user = Callers.NewUser("workspaces:read", "workspaces:write");
    var ws = await CreateWorkspaceAsync(user);
    Console.WriteLine($"HeadyMe.Sync benchmark — {Environment.ProcessorCount} cores, service in-process (TestServer), PostgreSQL/Redis/s3rver on loopback");
    Console.WriteLine();

    // 1. Small files: N × 4 KiB, uploaded in packs, committed in batches of 1,000.
    {
        var files = Enumerable.Range(0, smallFiles).Select(_ => RandomNumberGenerator.GetBytes(4096)).ToArray();
        var sw = Stopwatch.StartNew();
        var missing = new List<string>();
        foreach (var batch in files.Chunk(SyncApi.MaxChunkIdsPerQuery))
        {
            var answer = await PostJsonAsync<MissingChunksResponse>($"/api/v1/workspaces/{ws}/chunks/missing", user, new MissingChunksRequest(batch.Select(Id).ToArray()));
            missing.AddRange(answer.Missing);
        }

        var queried = sw.Elapsed;
        foreach (var pack in files.Chunk(2000))
        {
            await UploadAsync(ws, user, pack);
        }

        var uploaded = sw.Elapsed;
        var commitWatch = Stopwatch.StartNew();
        foreach (var (batch, index) in files.Chunk(SyncApi.MaxFilesPerCommit).Select((b, i) => (b, i)))
        {
            var requests = batch.Select((f, j) => new CommitFileRequest($"small/{index:D4}/f{j:D4}.bin", null, [Id(f)], f.Length, Id(f), DateTimeOffset.UtcNow, 420, "bench")).ToArray();
            var result = await PostJsonAsync<CommitBatchResponse>($"/api/v1/workspaces/{ws}/files/commit", user, new CommitBatchRequest(requests));
            if (result.Results.Any(r => r.Outcome != CommitOutcomes.Committed))
            {
                throw new InvalidOperationException("A benchmark commit was not committed: " + result.Results.First(r => r.Outcome != CommitOutcomes.Committed));
            }
        }

        var committed = commitWatch.Elapsed;
        Console.WriteLine($"Small files: {smallFiles:N0} × 4 KiB");
        Console.WriteLine($"  missing-chunks queries   {queried.TotalSeconds,8:F2} s");
        Console.WriteLine($"  chunk upload (packs)     {(uploaded - queried).TotalSeconds,8:F2} s   {smallFiles / (uploaded - queried).TotalSeconds,10:N0} chunks/s");
        Console.WriteLine($"  batch commit (1,000/req) {committed.TotalSeconds,8:F2} s   {smallFiles / committed.TotalSeconds,10:N0} files/s   <- goal ≥ 2,000 files/s");
        Console.WriteLine($"  end to end               {(uploaded + committed).TotalSeconds,8:F2} s   {smallFiles / (uploaded + committed).TotalSeconds,10:N0} files/s");
        Console.WriteLine();
    }

    // 2. Ingest of one large file (FastCDC default chunking), then the bytes re-sent after 1-byte edits.
    {
        var data = RandomNumberGenerator.GetBytes(ingestMiB * 1024 * 1024);
        var sw = Stopwatch.StartNew();
        var chunks = FastCdc.Chunk(data);
        var chunked = sw.Elapsed;
        var ids = chunks.Select(c => c.Id.Value).ToArray();
        var missing = (await PostJsonAsync<MissingChunksResponse>($"/api/v1/workspaces/{ws}/chunks/missing", user, new MissingChunksRequest(ids))).Missing.ToHashSet();
        var toSend = chunks.Where(c => missing.Contains(c.Id.Value)).ToList();
        var pack = new List<byte[]>();
        long packBytes = 0;
        foreach (var c in toSend)
        {
            if (packBytes + c.Length + 36 > SyncApi.MaxChunkPackBytes && pack.Count > 0)
            {
                await UploadAsync(ws, user, pack);
                pack.Clear();
                packBytes = 0;
            }

            pack.Add(data.AsSpan((int)c.Offset, c.Length).ToArray());
            packBytes += c.Length + 36;
        }

        if (pack.Count > 0)
        {
            await UploadAsync(ws, user, pack);
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(data));
        var commit = await PostAsync($"/api/v1/workspaces/{ws}/files", user, new CommitFileRequest("big.bin", null, ids, data.Length, hash, DateTimeOffset.UtcNow, 420, "bench"));
        commit.EnsureSuccessStatusCode();
        var total = sw.Elapsed;
        var mb = data.Length / 1e6;
        Console.WriteLine($"Ingest: one {ingestMiB} MiB file, {chunks.Count} chunks (FastCDC default, avg {data.Length / chunks.Count / 1024} KiB)");
        Console.WriteLine($"  chunking (client side)   {chunked.TotalSeconds,8:F2} s   {mb / chunked.TotalSeconds,8:F0} MB/s");
        Console.WriteLine($"  chunk + query + upload + commit {total.TotalSeconds,8:F2} s   {mb / total.TotalSeconds,8:F0} MB/s");

        var download = Stopwatch.StartNew();
        var back = await fx.Client.SendAsync(Request(HttpMethod.Get, $"/api/v1/workspaces/{ws}/files/content?path=big.bin", user));
        var bytes = await back.Content.ReadAsByteArrayAsync();
        download.Stop();
        Console.WriteLine($"  download (whole file)    {download.Elapsed.TotalSeconds,8:F2} s   {mb / download.Elapsed.TotalSeconds,8:F0} MB/s   identical: {bytes.AsSpan().SequenceEqual(data)}");

        foreach (var (name, edited) in new (string, byte[])[]
        {
            ("1-byte overwrite", Overwrite(data)),
            ("1-byte insert   ", Insert(data)),
        })
        {
            var editedChunks = FastCdc.Chunk(edited);
            var editedMissing = (await PostJsonAsync<MissingChunksResponse>($"/api/v1/workspaces/{ws}/chunks/missing", user,
                new MissingChunksRequest(editedChunks.Select(c => c.Id.Value).ToArray()))).Missing.ToHashSet();
            var resent = editedChunks.Where(c => editedMissing.Contains(c.Id.Value)).Sum(c => (long)c.Length);
            Console.WriteLine($"  re-sent after {name}  {resent,12:N0} bytes = {resent / (double)ChunkerOptions.Default.AvgSize,5:F2} average chunks (goal ≤ 2)");
        }

        Console.WriteLine();
    }

    // 3. Long-poll wake latency: time from starting a commit to another client's long poll returning.
    {
        var cursor = (await GetJsonAsync<ChangesResponse>($"/api/v1/workspaces/{ws}/changes/latest", user)).Cursor;
        var content = RandomNumberGenerator.GetBytes(100);
        await UploadAsync(ws, user, [content]);
        var latencies = new List<double>();
        Guid? baseVersion = null;
        for (var i = 0; i < pollRounds; i++)
        {
            var poll = fx.Client.SendAsync(Request(HttpMethod.Get, $"/api/v1/workspaces/{ws}/changes/poll?cursor={cursor}&timeout=30", user));
            await Task.Delay(20); // let the poll reach its wait
            var start = Stopwatch.GetTimestamp();
            var commitTask = PostAsync($"/api/v1/workspaces/{ws}/files", user,
                new CommitFileRequest("poll.txt", baseVersion, [Id(content)], content.Length, Id(content), DateTimeOffset.UtcNow, 420 + (i % 2), "bench"));
            var response = await poll;
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            var changes = JsonSerializer.Deserialize<ChangesResponse>(await response.Content.ReadAsStringAsync(), json)!;
            cursor = changes.Cursor;
            var committed = await commitTask;
            baseVersion = JsonSerializer.Deserialize<FileVersionInfo>(await committed.Content.ReadAsStringAsync(), json)!.Id;
        }

        latencies.Sort();
        Console.WriteLine($"Long-poll wake (commit start → other client's poll returns), {pollRounds} rounds");
        Console.WriteLine($"  p50 {Percentile(latencies, 0.50),7:F1} ms   p99 {Percentile(latencies, 0.99),7:F1} ms   max {latencies[^1],7:F1} ms   (goal p99 < 1,000 ms)");
        Console.WriteLine();
    }

    using var self = Process.GetCurrentProcess();
    Console.WriteLine($"Memory (bench process = service + client): peak working set {self.PeakWorkingSet64 / 1048576} MiB, managed heap now {GC.GetTotalMemory(false) / 1048576} MiB");
}
finally
{
    await fx.DisposeAsync();
}

int Arg(int index, int fallback) => args.Length > index && int.TryParse(args[index], out var v) ? v : fallback;

static string Id(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

static byte[] Overwrite(byte[] data)
{
    var copy = data.ToArray();
    copy[copy.Length / 2] ^= 0xFF;
    return copy;
}

static byte[] Insert(byte[] data)
{
    var middle = data.Length / 3;
    return [.. data.AsSpan(0, middle), 0x42, .. data.AsSpan(middle)];
}

HttpRequestMessage Request(HttpMethod method, string path, CallerIdentity caller, HttpContent? content = null)
{
    var request = new HttpRequestMessage(method, path) { Content = content };
    request.Headers.TryAddWithoutValidation(HeadyHeaders.Identity, fx.Assertion(caller, TimeSpan.FromMinutes(30)));
    return request;
}

async Task<HttpResponseMessage> PostAsync(string path, CallerIdentity caller, object body) =>
    await fx.Client.SendAsync(Request(HttpMethod.Post, path, caller, JsonContent.Create(body, options: json)));

async Task<T> PostJsonAsync<T>(string path, CallerIdentity caller, object body)
{
    var response = await PostAsync(path, caller, body);
    var text = await response.Content.ReadAsStringAsync();
    return response.IsSuccessStatusCode ? JsonSerializer.Deserialize<T>(text, json)! : throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
}

async Task<T> GetJsonAsync<T>(string path, CallerIdentity caller)
{
    var response = await fx.Client.SendAsync(Request(HttpMethod.Get, path, caller));
    return JsonSerializer.Deserialize<T>(await response.Content.ReadAsStringAsync(), json)!;
}

async Task<Guid> CreateWorkspaceAsync(CallerIdentity caller)
{
    var created = await PostJsonAsync<JsonElement>("/api/v1/workspaces", caller, new { name = "bench-" + Callers.Unique() });
    return created.GetProperty("id").GetGuid();
}

async Task UploadAsync(Guid workspace, CallerIdentity caller, IEnumerable<byte[]> chunks)
{
    using var buffer = new MemoryStream();
    var writer = new ChunkPackWriter(buffer);
    foreach (var chunk in chunks)
    {
        await writer.WriteAsync(chunk);
    }

    var content = new ByteArrayContent(buffer.GetBuffer(), 0, (int)buffer.Length);
    content.Headers.ContentType = new MediaTypeHeaderValue(SyncApi.ChunkPackContentType);
    var response = await fx.Client.SendAsync(Request(HttpMethod.Post, $"/api/v1/workspaces/{workspace}/chunks", caller, content));
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"upload: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

internal sealed class BenchFixture : ServiceFixture<HeadyMeDbContext>
{
    protected override string DatabaseResource => HeadyMeServices.DatabaseResource;

    protected override string ServiceName => "headyme_bench";

    protected override bool UsesObjectStore => true;

    protected override bool UsesRedis => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "root-1"),
        new("Encryption:Keys:root-1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))),
        new("HeadyMe:QuotaBytes", (1L << 40).ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    protected override async Task PrepareAsync(IServiceProvider services, HeadyMeDbContext db)
    {
        try
        {
            await HeadyMeServices.PrepareStorageAsync(services, db, CancellationToken.None);
        }
        catch (Minio.Exceptions.MinioException)
        {
            // Created concurrently by someone else.
        }
    }
}
