using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace HeadyClouds.Sync.Core.Chunking;

/// <summary>
/// Many chunks in one request body. Wire format: a sequence of records, each
/// <c>32 bytes SHA-256 of the chunk</c> + <c>uint32 big-endian length</c> + <c>length bytes</c>, until the end of the
/// body; no header, no trailer. An empty body is a valid pack of zero chunks.
/// </summary>
public static class ChunkPack
{
    public const string ContentType = "application/vnd.heady.chunkpack";

    /// <summary>Bytes before each chunk's data: the hash and the length.</summary>
    public const int RecordHeaderLength = ChunkId.ByteLength + sizeof(uint);

    /// <summary>Bytes a pack of these chunk lengths takes on the wire.</summary>
    public static long EncodedLength(IEnumerable<int> chunkLengths) => chunkLengths.Sum(l => (long)RecordHeaderLength + l);
}

/// <summary>Limits a <see cref="ChunkPackReader"/> enforces before it allocates or hashes anything.</summary>
public sealed record ChunkPackLimits
{
    /// <summary>Largest chunk accepted; defaults to the chunker's maximum.</summary>
    public int MaxChunkLength { get; init; } = ChunkerOptions.Default.MaxSize;

    /// <summary>Most records accepted in one pack.</summary>
    public int MaxRecords { get; init; } = 10_000;

    public static ChunkPackLimits Default { get; } = new();
}

public enum ChunkPackError
{
    /// <summary>The body ended inside a record's header.</summary>
    TruncatedHeader,

    /// <summary>The body ended inside a record's data.</summary>
    TruncatedData,

    /// <summary>A record declares a length of zero (no chunk is empty).</summary>
    EmptyChunk,

    /// <summary>A record declares a length over the limit.</summary>
    ChunkTooLarge,

    /// <summary>More records than the limit.</summary>
    TooManyRecords,

    /// <summary>The data does not hash to the record's SHA-256.</summary>
    HashMismatch,
}

/// <summary>A malformed or dishonest chunk pack; <see cref="Exception.Message"/> says which record and what is wrong.</summary>
public sealed class ChunkPackFormatException(ChunkPackError error, int recordIndex, long byteOffset, string message)
    : Exception(message)
{
    public ChunkPackError Error { get; } = error;

    /// <summary>Zero-based index of the offending record.</summary>
    public int RecordIndex { get; } = recordIndex;

    /// <summary>Offset in the body where the offending record starts.</summary>
    public long ByteOffset { get; } = byteOffset;
}

/// <summary>A verified chunk from a pack. <see cref="Data"/> is valid only until the next read.</summary>
public readonly record struct ChunkPackRecord(ChunkId Id, ReadOnlyMemory<byte> Data);

/// <summary>Writes chunk records to a stream (a request body); one chunk in memory at a time, the caller's.</summary>
public sealed class ChunkPackWriter(Stream destination)
{
    private readonly byte[] header = new byte[ChunkPack.RecordHeaderLength];

    public int RecordCount { get; private set; }

    public long BytesWritten { get; private set; }

    /// <summary>Writes a chunk, hashing it here.</summary>
    public async Task<ChunkId> WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var id = ChunkId.Compute(data.Span);
        await WriteAsync(id, data, cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <summary>Writes a chunk whose id the caller already computed (the reader verifies it anyway).</summary>
    public async Task WriteAsync(ChunkId id, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (data.Length == 0)
        {
            throw new ArgumentException("A chunk pack cannot carry an empty chunk.", nameof(data));
        }

        id.WriteBytes(header.AsSpan(0, ChunkId.ByteLength));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(ChunkId.ByteLength), (uint)data.Length);
        await destination.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await destination.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        RecordCount++;
        BytesWritten += header.Length + data.Length;
    }
}

/// <summary>
/// Reads and verifies chunk records from a stream (a request body) one at a time: every chunk's SHA-256 is
/// recomputed and compared before the chunk is returned, lengths and record count are checked before anything is
/// allocated, and a body that ends mid-record is rejected. Dispose to return the pooled buffer.
/// </summary>
public sealed class ChunkPackReader(Stream source, ChunkPackLimits? limits = null) : IDisposable
{
    private readonly ChunkPackLimits limits = limits ?? ChunkPackLimits.Default;
    private readonly byte[] header = new byte[ChunkPack.RecordHeaderLength];
    private byte[]? buffer;

    public int RecordCount { get; private set; }

    public long BytesRead { get; private set; }

    /// <summary>The next verified record, or null at the clean end of the pack.</summary>
    public async ValueTask<ChunkPackRecord?> ReadAsync(CancellationToken cancellationToken = default)
    {
        var recordStart = BytesRead;
        var got = await FillAsync(header, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < header.Length)
        {
            throw Fail(ChunkPackError.TruncatedHeader, recordStart,
                $"The chunk pack ends inside the header of record {RecordCount} ({got} of {header.Length} bytes).");
        }

        if (RecordCount >= limits.MaxRecords)
        {
            throw Fail(ChunkPackError.TooManyRecords, recordStart, $"The chunk pack has more than {limits.MaxRecords} records.");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(ChunkId.ByteLength));
        if (length == 0)
        {
            throw Fail(ChunkPackError.EmptyChunk, recordStart, $"Record {RecordCount} declares an empty chunk.");
        }

        if (length > (uint)limits.MaxChunkLength)
        {
            throw Fail(ChunkPackError.ChunkTooLarge, recordStart,
                $"Record {RecordCount} declares {length} bytes; the largest chunk accepted is {limits.MaxChunkLength} bytes.");
        }

        var size = (int)length;
        if (buffer is null || buffer.Length < size)
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            buffer = ArrayPool<byte>.Shared.Rent(size);
        }

        var data = buffer.AsMemory(0, size);
        got = await FillAsync(data, cancellationToken).ConfigureAwait(false);
        if (got < size)
        {
            throw Fail(ChunkPackError.TruncatedData, recordStart,
                $"The chunk pack ends inside the data of record {RecordCount} ({got} of {size} bytes).");
        }

        Span<byte> actual = stackalloc byte[ChunkId.ByteLength];
        SHA256.HashData(data.Span, actual);
        var claimed = header.AsSpan(0, ChunkId.ByteLength);
        if (!actual.SequenceEqual(claimed))
        {
            throw Fail(ChunkPackError.HashMismatch, recordStart,
                $"Record {RecordCount} claims SHA-256 {Convert.ToHexStringLower(claimed)} but its {size} bytes hash to {Convert.ToHexStringLower(actual)}.");
        }

        RecordCount++;
        return new ChunkPackRecord(ChunkId.FromHash(actual), data);
    }

    /// <summary>Every verified record; each record's data is valid only until the next one is read.</summary>
    public async IAsyncEnumerable<ChunkPackRecord> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } record)
        {
            yield return record;
        }
    }

    public void Dispose()
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    private async ValueTask<int> FillAsync(Memory<byte> target, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < target.Length)
        {
            var read = await source.ReadAsync(target[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        BytesRead += total;
        return total;
    }

    private ChunkPackFormatException Fail(ChunkPackError error, long offset, string message) => new(error, RecordCount, offset, message);
}
