using System.Buffers;
using System.Runtime.CompilerServices;

namespace HeadyClouds.Sync.Core.Chunking;

/// <summary>A chunk read from a stream. <see cref="Data"/> lives in a pooled buffer and is valid only until the enumeration advances.</summary>
public readonly record struct StreamChunk(long Offset, int Length, ChunkId Id, ReadOnlyMemory<byte> Data)
{
    public ChunkInfo Info => new(Offset, Length, Id);
}

/// <summary>
/// Chunks a stream with <see cref="FastCdc"/> holding at most two maximum-size chunks in memory (one pooled buffer),
/// never the whole file. Gives exactly the chunks <see cref="FastCdc.Chunk"/> gives for the same bytes.
/// </summary>
public static class StreamChunker
{
    public static async IAsyncEnumerable<StreamChunk> ChunkAsync(
        Stream stream,
        ChunkerOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= ChunkerOptions.Default;
        // Small files (most of a folder) get a small buffer: a 16 MiB one per 4 KiB file would dominate the cost.
        var fullSize = options.MaxSize * 2;
        var initialSize = fullSize;
        if (stream.CanSeek && stream.Length - stream.Position + 1 < fullSize)
        {
            initialSize = (int)Math.Max(stream.Length - stream.Position + 1, 4096);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(initialSize);
        try
        {
            var start = 0; // first unconsumed byte in buffer
            var end = 0; // one past the last valid byte
            long offset = 0; // file offset of buffer[start]
            var eof = false;
            while (true)
            {
                // Keep at least MaxSize bytes ahead of the cursor (or everything up to the end of the stream).
                if (!eof && end - start < options.MaxSize)
                {
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }

                    if (end == buffer.Length && buffer.Length < fullSize)
                    {
                        // The stream is longer than it said (it grew): continue with a full-size buffer.
                        var larger = ArrayPool<byte>.Shared.Rent(fullSize);
                        Buffer.BlockCopy(buffer, 0, larger, 0, end);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    while (end < buffer.Length)
                    {
                        var read = await stream.ReadAsync(buffer.AsMemory(end, buffer.Length - end), cancellationToken).ConfigureAwait(false);
                        if (read == 0)
                        {
                            eof = true;
                            break;
                        }

                        end += read;
                    }
                }

                if (start == end)
                {
                    yield break;
                }

                // With MaxSize bytes available (or at the end of the stream) a cut is always found.
                var length = FastCdc.NextCut(buffer.AsSpan(start, end - start), options, final: true);
                var data = buffer.AsMemory(start, length);
                yield return new StreamChunk(offset, length, ChunkId.Compute(data.Span), data);
                start += length;
                offset += length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The chunk list of a stream, without keeping any chunk's bytes.</summary>
    public static async Task<List<ChunkInfo>> ChunkListAsync(Stream stream, ChunkerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = new List<ChunkInfo>();
        await foreach (var chunk in ChunkAsync(stream, options, cancellationToken).ConfigureAwait(false))
        {
            result.Add(chunk.Info);
        }

        return result;
    }
}
