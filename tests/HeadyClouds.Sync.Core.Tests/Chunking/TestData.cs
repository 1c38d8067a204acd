namespace HeadyClouds.Sync.Core.Tests.Chunking;

/// <summary>Deterministic pseudo-random bytes (SplitMix64), identical on every machine and runtime, unlike Random.</summary>
internal static class TestData
{
    public static byte[] Bytes(int length, ulong seed)
    {
        var data = new byte[length];
        var state = seed;
        for (var i = 0; i < length; i += 8)
        {
            state += 0x9E3779B97F4A7C15;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            z ^= z >> 31;
            for (var b = 0; b < 8 && i + b < length; b++)
            {
                data[i + b] = (byte)(z >> (8 * b));
            }
        }

        return data;
    }
}

/// <summary>A stream that hands out at most a few bytes per read, to exercise buffer refills at every position.</summary>
internal sealed class TrickleStream(byte[] data, int maxRead) : Stream
{
    private int position;
    private int call;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Varying sizes 1..maxRead so refills land on every alignment.
        var n = Math.Min(Math.Min(buffer.Length, data.Length - position), 1 + (call++ * 7919 % maxRead));
        data.AsSpan(position, n).CopyTo(buffer);
        position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
}
