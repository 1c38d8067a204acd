using System.Buffers;
using System.Security.Cryptography;
using HeadyClouds.Backup.Targets;

namespace HeadyClouds.Backup.Format;

/// <summary>
/// Cuts what is written into segments of <c>segmentSize</c> plaintext bytes, seals each and stores it as its own object
/// <c>{keyPrefix}/{index:D8}</c>. One pooled buffer: memory does not grow with the size of the part. A full buffer is
/// only sealed when more bytes arrive, so the last segment (sealed with the final flag by <see cref="CompleteAsync"/>)
/// is empty only for an empty part.
/// </summary>
internal sealed class SegmentWriterStream : Stream
{
    private readonly IBackupTarget target;
    private readonly string keyPrefix;
    private readonly PartCipher cipher;
    private readonly int segmentSize;
    private readonly byte[] buffer;
    private int filled;
    private bool completed;

    public SegmentWriterStream(IBackupTarget target, string keyPrefix, PartCipher cipher, int segmentSize)
    {
        this.target = target;
        this.keyPrefix = keyPrefix;
        this.cipher = cipher;
        this.segmentSize = segmentSize;
        buffer = ArrayPool<byte>.Shared.Rent(segmentSize + BackupKeys.TagSize);
    }

    public int Segments { get; private set; }

    public long StoredBytes { get; private set; }

    public static string SegmentKey(string keyPrefix, int index) => $"{keyPrefix}/{index:D8}";

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(completed, this);
        while (source.Length > 0)
        {
            if (filled == segmentSize)
            {
                await SealAsync(final: false, ct);
            }

            var n = Math.Min(source.Length, segmentSize - filled);
            source.Span[..n].CopyTo(buffer.AsSpan(filled));
            filled += n;
            source = source[n..];
        }
    }

    public override Task WriteAsync(byte[] source, int offset, int count, CancellationToken ct) =>
        WriteAsync(source.AsMemory(offset, count), ct).AsTask();

    public override void Write(byte[] source, int offset, int count) => WriteAsync(source.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(ReadOnlySpan<byte> source) => WriteAsync(source.ToArray()).AsTask().GetAwaiter().GetResult();

    /// <summary>Seals the last segment (final flag).</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(completed, this);
        await SealAsync(final: true, ct);
        completed = true;
    }

    private async Task SealAsync(bool final, CancellationToken ct)
    {
        cipher.Seal(buffer, filled, Segments, final);
        var stored = filled + BackupKeys.TagSize;
        await target.PutAsync(SegmentKey(keyPrefix, Segments), buffer.AsMemory(0, stored), ct);
        Segments++;
        StoredBytes += stored;
        filled = 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && buffer.Length > 0)
        {
            CryptographicOperations.ZeroMemory(buffer);
            ArrayPool<byte>.Shared.Return(buffer);
            completed = true;
        }

        base.Dispose(disposing);
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !completed;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] b, int o, int c) => throw new NotSupportedException();
    public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
    public override void SetLength(long v) => throw new NotSupportedException();
}

/// <summary>
/// Reads a part back segment by segment, authenticating each before any byte of it is handed out. A missing segment
/// before the one sealed as final, or a different number of segments than the manifest says, is an integrity error.
/// </summary>
internal sealed class SegmentReaderStream : Stream
{
    private readonly IBackupTarget target;
    private readonly string keyPrefix;
    private readonly PartCipher cipher;
    private readonly int? expectedSegments;
    private readonly byte[] stored;
    private readonly byte[] plain;
    private int index;
    private int position;
    private int length;
    private bool final;
    private bool disposed;

    public SegmentReaderStream(IBackupTarget target, string keyPrefix, PartCipher cipher, int segmentSize, int? expectedSegments)
    {
        this.target = target;
        this.keyPrefix = keyPrefix;
        this.cipher = cipher;
        this.expectedSegments = expectedSegments;
        stored = ArrayPool<byte>.Shared.Rent(segmentSize + BackupKeys.TagSize);
        plain = ArrayPool<byte>.Shared.Rent(segmentSize);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        while (position == length)
        {
            if (final)
            {
                return 0;
            }

            await LoadAsync(ct);
        }

        var n = Math.Min(destination.Length, length - position);
        plain.AsSpan(position, n).CopyTo(destination.Span);
        position += n;
        return n;
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        if (expectedSegments is { } expected && index >= expected)
        {
            throw new BackupIntegrityException($"Part '{cipher.PartName}' has no final segment within the {expected} the manifest lists: truncated or tampered.");
        }

        var read = await target.ReadAsync(SegmentReaderStream.Key(keyPrefix, index), stored, ct)
            ?? throw new BackupIntegrityException($"Part '{cipher.PartName}' is truncated: segment {index} is missing from {target.Description}.");
        (length, final) = cipher.Open(stored.AsSpan(0, read), plain, index);
        position = 0;
        index++;
        if (final && expectedSegments is { } count && index != count)
        {
            throw new BackupIntegrityException($"Part '{cipher.PartName}' ends after {index} segments but the manifest lists {count}: truncated or tampered.");
        }
    }

    private static string Key(string prefix, int index) => SegmentWriterStream.SegmentKey(prefix, index);

    public override Task<int> ReadAsync(byte[] b, int offset, int count, CancellationToken ct) => ReadAsync(b.AsMemory(offset, count), ct).AsTask();

    public override int Read(byte[] b, int offset, int count) => ReadAsync(b.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(Span<byte> destination)
    {
        var temp = new byte[destination.Length];
        var n = Read(temp, 0, temp.Length);
        temp.AsSpan(0, n).CopyTo(destination);
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposed)
        {
            disposed = true;
            CryptographicOperations.ZeroMemory(plain);
            ArrayPool<byte>.Shared.Return(stored);
            ArrayPool<byte>.Shared.Return(plain);
        }

        base.Dispose(disposing);
    }

    public override bool CanRead => !disposed;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush()
    {
    }

    public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
    public override void SetLength(long v) => throw new NotSupportedException();
    public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
}

/// <summary>Counts and hashes (SHA-256) what passes through, in either direction.</summary>
internal sealed class HashingStream(Stream inner, bool write) : Stream
{
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long Count { get; private set; }

    public string HashHex() => Convert.ToHexStringLower(hash.GetHashAndReset());

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken ct = default)
    {
        hash.AppendData(source.Span);
        Count += source.Length;
        await inner.WriteAsync(source, ct);
    }

    public override Task WriteAsync(byte[] b, int offset, int count, CancellationToken ct) => WriteAsync(b.AsMemory(offset, count), ct).AsTask();

    public override void Write(byte[] b, int offset, int count)
    {
        hash.AppendData(b, offset, count);
        Count += count;
        inner.Write(b, offset, count);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct = default)
    {
        var n = await inner.ReadAsync(destination, ct);
        hash.AppendData(destination.Span[..n]);
        Count += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] b, int offset, int count, CancellationToken ct) => ReadAsync(b.AsMemory(offset, count), ct).AsTask();

    public override int Read(byte[] b, int offset, int count)
    {
        var n = inner.Read(b, offset, count);
        hash.AppendData(b, offset, n);
        Count += n;
        return n;
    }

    public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);

    public override void Flush() => inner.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            hash.Dispose();
        }

        base.Dispose(disposing);
    }

    public override bool CanRead => !write;
    public override bool CanSeek => false;
    public override bool CanWrite => write;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
    public override void SetLength(long v) => throw new NotSupportedException();
}
