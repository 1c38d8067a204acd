using System.Diagnostics;
using HeadyClouds.Sync.Core.Chunking;

// FastCDC benchmark: throughput (boundaries only, and boundaries + SHA-256 through the stream API, which is what a
// client pays) and the bytes a 1-byte overwrite / insert makes a client re-send, for a few min/avg/max settings.
// Usage: dotnet run -c Release -- [size MiB, default 256] [edits per kind, default 8]
var sizeMiB = args.Length > 0 ? int.Parse(args[0]) : 256;
var edits = args.Length > 1 ? int.Parse(args[1]) : 8;
var size = sizeMiB * 1024 * 1024;

Console.Error.WriteLine($"generating {sizeMiB} MiB of pseudo-random data...");
var data = new byte[size + 1]; // +1: room for the insert variant
var rng = new Random(20261204); // the bench's data need not be reproducible across runtimes, only incompressible
rng.NextBytes(data);
var original = data.AsMemory(0, size);

ChunkerOptions[] settings =
[
    new(64 * 1024, 256 * 1024, 1024 * 1024),
    new(256 * 1024, 1024 * 1024, 4 * 1024 * 1024),
    new(512 * 1024, 1024 * 1024, 8 * 1024 * 1024),
    new(1024 * 1024, 2 * 1024 * 1024, 8 * 1024 * 1024),
    new(1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024),
];

Console.WriteLine($"FastCDC on {sizeMiB} MiB of random data, {Environment.ProcessorCount} cores, .NET {Environment.Version}; re-sent bytes are the mean (max) over {edits} positions");
Console.WriteLine("| min / avg / max | chunks | mean chunk | cut MB/s | cut+SHA-256 stream MB/s | re-sent after 1-byte overwrite | re-sent after 1-byte insert |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var options in settings)
{
    FastCdc.Split(original.Span[..(16 * 1024 * 1024)], options); // warm-up (tiering)
    var sw = Stopwatch.StartNew();
    var boundaries = FastCdc.Split(original.Span, options);
    var cutMBs = size / 1e6 / sw.Elapsed.TotalSeconds;

    sw.Restart();
    var chunks = await StreamChunker.ChunkListAsync(new MemoryStream(data, 0, size, writable: false), options);
    var streamMBs = size / 1e6 / sw.Elapsed.TotalSeconds;
    if (chunks.Count != boundaries.Count)
    {
        throw new InvalidOperationException("stream and span chunking disagree");
    }

    var known = chunks.Select(c => c.Id).ToHashSet();
    var overwrite = new List<long>();
    var insert = new List<long>();
    for (var e = 0; e < edits; e++)
    {
        // Positions spread over the buffer, away from the very start and end.
        var position = (int)((long)size * (2 * e + 1) / (2 * edits));

        data[position] ^= 0xA5;
        overwrite.Add(ResentBytes(original.Span, options, known));
        data[position] ^= 0xA5;

        // 1-byte insert: shift the tail right by one within the spare byte.
        Buffer.BlockCopy(data, position, data, position + 1, size - position);
        data[position] = 0x42;
        insert.Add(ResentBytes(data.AsSpan(0, size + 1), options, known));
        Buffer.BlockCopy(data, position + 1, data, position, size - position);
    }

    Console.WriteLine($"| {Fmt(options.MinSize)} / {Fmt(options.AvgSize)} / {Fmt(options.MaxSize)} | {chunks.Count} | {Fmt((long)size / chunks.Count)} | {cutMBs:F0} | {streamMBs:F0} | {Fmt((long)overwrite.Average())} ({Fmt(overwrite.Max())}) | {Fmt((long)insert.Average())} ({Fmt(insert.Max())}) |");
}

static long ResentBytes(ReadOnlySpan<byte> data, ChunkerOptions options, HashSet<ChunkId> known)
{
    long resent = 0;
    foreach (var b in FastCdc.Split(data, options))
    {
        var slice = data.Slice((int)b.Offset, b.Length);
        if (!known.Contains(ChunkId.Compute(slice)))
        {
            resent += b.Length;
        }
    }

    return resent;
}

static string Fmt(long bytes) => bytes >= 1024 * 1024 ? $"{bytes / 1048576.0:0.##} MiB" : $"{bytes / 1024.0:0.#} KiB";
