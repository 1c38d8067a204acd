using System.Numerics;

namespace HeadyClouds.Sync.Core.Chunking;

/// <summary>
/// FastCDC parameters. Every client and the server must chunk with the same options for dedup to work, so only
/// <see cref="Default"/> is used in production; other values exist for benchmarks and tests.
/// </summary>
public sealed record ChunkerOptions
{
    /// <summary>Smallest chunk the chunker may cut (except the last chunk of a file).</summary>
    public int MinSize { get; }

    /// <summary>Target average chunk size; a power of two (the masks are derived from its log2).</summary>
    public int AvgSize { get; }

    /// <summary>Hard upper bound of a chunk.</summary>
    public int MaxSize { get; }

    /// <summary>FastCDC normalization level: the small-region mask has log2(avg)+level bits, the large-region one log2(avg)-level.</summary>
    public int NormalizationLevel { get; }

    /// <summary>Mask used before <see cref="AvgSize"/> (harder to match: fewer tiny chunks).</summary>
    internal ulong MaskSmall { get; }

    /// <summary>Mask used after <see cref="AvgSize"/> (easier to match: fewer chunks near the maximum).</summary>
    internal ulong MaskLarge { get; }

    /// <summary>Largest MaxSize accepted; also bounds what a chunk pack accepts by default.</summary>
    public const int AbsoluteMaxSize = 64 * 1024 * 1024;

    /// <summary>
    /// 512 KiB / 1 MiB / 8 MiB: restic's figures, confirmed by bench/chunking (docs/decisions/0005-content-defined-chunking.md).
    /// Changing them changes every chunk boundary and therefore every chunk id: never change them silently.
    /// </summary>
    public static ChunkerOptions Default { get; } = new(512 * 1024, 1024 * 1024, 8 * 1024 * 1024);

    public ChunkerOptions(int minSize, int avgSize, int maxSize, int normalizationLevel = 2)
    {
        if (minSize < 64)
        {
            throw new ArgumentOutOfRangeException(nameof(minSize), minSize, "The minimum chunk size must be at least 64 bytes.");
        }

        if (!BitOperations.IsPow2(avgSize) || avgSize <= minSize)
        {
            throw new ArgumentOutOfRangeException(nameof(avgSize), avgSize, "The average chunk size must be a power of two greater than the minimum.");
        }

        if (maxSize <= avgSize || maxSize > AbsoluteMaxSize)
        {
            throw new ArgumentOutOfRangeException(nameof(maxSize), maxSize, $"The maximum chunk size must be greater than the average and at most {AbsoluteMaxSize} bytes.");
        }

        var bits = BitOperations.Log2((uint)avgSize);
        if (normalizationLevel < 0 || normalizationLevel >= bits || bits + normalizationLevel > 48)
        {
            throw new ArgumentOutOfRangeException(nameof(normalizationLevel), normalizationLevel, "The normalization level is out of range for this average size.");
        }

        MinSize = minSize;
        AvgSize = avgSize;
        MaxSize = maxSize;
        NormalizationLevel = normalizationLevel;
        MaskSmall = TopBits(bits + normalizationLevel);
        MaskLarge = TopBits(bits - normalizationLevel);
    }

    // The gear hash shifts left once per byte, so bit k depends on the last k+1 bytes only: the masks take the
    // high bits, which depend on the widest window (up to 64 bytes).
    private static ulong TopBits(int count) => count == 0 ? 0 : ulong.MaxValue << (64 - count);

    public override string ToString() => $"min {MinSize} / avg {AvgSize} / max {MaxSize} (normalization {NormalizationLevel})";
}
