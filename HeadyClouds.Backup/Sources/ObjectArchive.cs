using System.Buffers.Binary;
using System.Text;
using HeadyClouds.Backup.Format;
using HeadyClouds.Data.ObjectStorage;

namespace HeadyClouds.Backup.Sources;

/// <summary>
/// The objects of a bucket (under a prefix) as one stream of records:
/// type (1 byte: 1 = object with its bytes, 2 = listed only) | key length (uint16 BE) | key (UTF-8) | size (int64 BE)
/// | bytes (type 1); type 0 ends the stream. Chunks are already encrypted by HeadyMe.Sync and are copied as stored.
/// </summary>
public static class ObjectArchive
{
    private const byte End = 0;
    private const byte WithData = 1;
    private const byte ListedOnly = 2;

    /// <summary>Objects up to this size are fetched into a reused buffer first, so one deleted between listing and reading is skipped.</summary>
    private const int BufferedLimit = 16 * 1024 * 1024;

    public sealed record Summary(long Objects, long Bytes, long Skipped);

    public static async Task<Summary> WriteAsync(IObjectStore store, string bucket, string prefix, bool copy, Stream destination, CancellationToken ct)
    {
        long objects = 0, bytes = 0, skipped = 0;
        using var buffer = new MemoryStream();
        if (await store.BucketExistsAsync(bucket, ct))
        {
            await foreach (var item in store.ListAsync(bucket, prefix, ct))
            {
                if (!copy)
                {
                    await WriteRecordHeaderAsync(destination, ListedOnly, item.Key, item.Size, ct);
                }
                else if (item.Size <= BufferedLimit)
                {
                    buffer.SetLength(0);
                    if (!await store.TryGetAsync(bucket, item.Key, buffer, ct))
                    {
                        skipped++; // deleted since the listing (garbage collection): not live any more
                        continue;
                    }

                    await WriteRecordHeaderAsync(destination, WithData, item.Key, buffer.Length, ct);
                    await destination.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ct);
                    bytes += buffer.Length;
                }
                else
                {
                    await WriteRecordHeaderAsync(destination, WithData, item.Key, item.Size, ct);
                    var counting = new CountingStream(destination);
                    if (!await store.TryGetAsync(bucket, item.Key, counting, ct) || counting.Count != item.Size)
                    {
                        throw new InvalidOperationException($"Object {bucket}/{item.Key} changed or vanished while it was being backed up; run the backup again.");
                    }

                    bytes += item.Size;
                }

                objects++;
            }
        }

        destination.WriteByte(End);
        return new Summary(objects, bytes, skipped);
    }

    private static async Task WriteRecordHeaderAsync(Stream destination, byte type, string key, long size, CancellationToken ct)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var header = new byte[1 + 2 + keyBytes.Length + 8];
        header[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(1), checked((ushort)keyBytes.Length));
        keyBytes.CopyTo(header, 3);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(3 + keyBytes.Length), size);
        await destination.WriteAsync(header, ct);
    }

    public sealed record Entry(string Key, long Size, bool HasData);

    /// <summary>Reads the records; <paramref name="onObject"/> gets a stream of exactly the object's bytes (or null for listed-only).</summary>
    public static async Task<Summary> ReadAsync(Stream source, Func<Entry, Stream?, Task> onObject, CancellationToken ct)
    {
        long objects = 0, bytes = 0;
        var small = new byte[8];
        while (true)
        {
            await source.ReadExactlyAsync(small.AsMemory(0, 1), ct);
            var type = small[0];
            if (type == End)
            {
                return new Summary(objects, bytes, 0);
            }

            if (type is not (WithData or ListedOnly))
            {
                throw new BackupIntegrityException($"Object archive record {objects} has unknown type {type}.");
            }

            await source.ReadExactlyAsync(small.AsMemory(0, 2), ct);
            var keyBytes = new byte[BinaryPrimitives.ReadUInt16BigEndian(small)];
            await source.ReadExactlyAsync(keyBytes, ct);
            await source.ReadExactlyAsync(small, ct);
            var size = BinaryPrimitives.ReadInt64BigEndian(small);
            var entry = new Entry(Encoding.UTF8.GetString(keyBytes), size, type == WithData);
            if (type == WithData)
            {
                var body = new BoundedStream(source, size);
                await onObject(entry, body);
                await body.CopyToAsync(Stream.Null, ct); // whatever the consumer left
                bytes += size;
            }
            else
            {
                await onObject(entry, null);
            }

            objects++;
        }
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken ct = default)
        {
            Count += source.Length;
            await inner.WriteAsync(source, ct);
        }

        public override Task WriteAsync(byte[] b, int o, int c, CancellationToken ct) => WriteAsync(b.AsMemory(o, c), ct).AsTask();

        public override void Write(byte[] b, int o, int c)
        {
            Count += c;
            inner.Write(b, o, c);
        }

        public override void Flush()
        {
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] b, int o, int c) => throw new NotSupportedException();
        public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
        public override void SetLength(long v) => throw new NotSupportedException();
    }

    /// <summary>Exactly <c>length</c> bytes of the underlying stream; a short stream is an integrity error.</summary>
    private sealed class BoundedStream(Stream inner, long length) : Stream
    {
        private readonly long total = length;
        private long remaining = length;

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct = default)
        {
            if (remaining == 0)
            {
                return 0;
            }

            var n = await inner.ReadAsync(destination[..(int)Math.Min(destination.Length, remaining)], ct);
            if (n == 0)
            {
                throw new BackupIntegrityException("An object in the archive is shorter than its recorded size.");
            }

            remaining -= n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] b, int o, int c, CancellationToken ct) => ReadAsync(b.AsMemory(o, c), ct).AsTask();

        public override int Read(byte[] b, int o, int c) => ReadAsync(b.AsMemory(o, c)).AsTask().GetAwaiter().GetResult();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => total;
        public override long Position { get => total - remaining; set => throw new NotSupportedException(); }
        public override void Flush()
        {
        }

        public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
        public override void SetLength(long v) => throw new NotSupportedException();
        public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
    }
}
