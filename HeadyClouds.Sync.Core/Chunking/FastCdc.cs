using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeadyClouds.Sync.Core.Chunking;

/// <summary>A chunk of a file: where it is and what it hashes to.</summary>
public readonly record struct ChunkBoundary(long Offset, int Length);

/// <summary>A chunk with its id.</summary>
public readonly record struct ChunkInfo(long Offset, int Length, ChunkId Id);

/// <summary>
/// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016 / IEEE TPDS 2020): a gear rolling hash, cut-point
/// skipping up to the minimum size, and normalized chunking with a harder mask before the average size and an easier
/// one after it, so chunk sizes cluster around the average. Pure function of the bytes and the options.
/// </summary>
public static class FastCdc
{
    /// <summary>
    /// Length of the first chunk of <paramref name="data"/>. When <paramref name="final"/> is false and no cut point
    /// is found in the data given, the caller must supply more bytes (at least <see cref="ChunkerOptions.MaxSize"/>
    /// bytes always suffice); the method then returns 0.
    /// </summary>
    public static int NextCut(ReadOnlySpan<byte> data, ChunkerOptions options, bool final = true)
    {
        var n = data.Length;
        if (n == 0)
        {
            return 0;
        }

        if (n >= options.MaxSize)
        {
            n = options.MaxSize;
        }
        else if (!final)
        {
            // A cut may exist in what we have, but if none does we cannot tell the end of the chunk yet.
            var cut = Scan(data, n, options);
            return cut < n ? cut : 0;
        }

        return Scan(data, n, options);
    }

    private static int Scan(ReadOnlySpan<byte> data, int n, ChunkerOptions options)
    {
        var min = options.MinSize;
        if (n <= min)
        {
            return n;
        }

        var normal = Math.Min(options.AvgSize, n);
        var maskS = options.MaskSmall;
        var maskL = options.MaskLarge;
        ref var gear = ref MemoryMarshal.GetArrayDataReference(GearTable.Values);
        ref var bytes = ref MemoryMarshal.GetReference(data);
        ulong hash = 0;
        var i = min;
        for (; i < normal; i++)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref bytes, i));
            if ((hash & maskS) == 0)
            {
                return i + 1;
            }
        }

        for (; i < n; i++)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref bytes, i));
            if ((hash & maskL) == 0)
            {
                return i + 1;
            }
        }

        return n;
    }

    /// <summary>All chunk boundaries of an in-memory buffer.</summary>
    public static List<ChunkBoundary> Split(ReadOnlySpan<byte> data, ChunkerOptions? options = null)
    {
        options ??= ChunkerOptions.Default;
        var result = new List<ChunkBoundary>();
        var offset = 0;
        while (offset < data.Length)
        {
            var length = NextCut(data[offset..], options);
            result.Add(new ChunkBoundary(offset, length));
            offset += length;
        }

        return result;
    }

    /// <summary>All chunks of an in-memory buffer, with their ids.</summary>
    public static List<ChunkInfo> Chunk(ReadOnlySpan<byte> data, ChunkerOptions? options = null)
    {
        var boundaries = Split(data, options);
        var result = new List<ChunkInfo>(boundaries.Count);
        foreach (var b in boundaries)
        {
            result.Add(new ChunkInfo(b.Offset, b.Length, ChunkId.Compute(data.Slice((int)b.Offset, b.Length))));
        }

        return result;
    }
}
