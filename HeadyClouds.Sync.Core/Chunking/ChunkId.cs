using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeadyClouds.Sync.Core.Chunking;

/// <summary>
/// A chunk's identity: the SHA-256 of its plaintext bytes, written as 64 lowercase hex characters (in JSON too).
/// The server recomputes it on every upload and never trusts a client's claim.
/// </summary>
[JsonConverter(typeof(ChunkIdJsonConverter))]
public readonly struct ChunkId : IEquatable<ChunkId>
{
    public const int ByteLength = 32;
    public const int HexLength = 64;

    private readonly string? value;

    private ChunkId(string value) => this.value = value;

    /// <summary>The lowercase hex form; empty for <c>default</c>.</summary>
    public string Value => value ?? "";

    public bool IsEmpty => value is null;

    public static ChunkId Compute(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[ByteLength];
        SHA256.HashData(data, hash);
        return FromHash(hash);
    }

    public static ChunkId FromHash(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != ByteLength)
        {
            throw new ArgumentException($"A chunk id is a {ByteLength}-byte SHA-256; got {hash.Length} bytes.", nameof(hash));
        }

        return new ChunkId(Convert.ToHexStringLower(hash));
    }

    /// <summary>True when <paramref name="text"/> is exactly 64 lowercase hex characters.</summary>
    public static bool IsValid([NotNullWhen(true)] string? text)
    {
        if (text is null || text.Length != HexLength)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool TryParse([NotNullWhen(true)] string? text, out ChunkId id)
    {
        id = IsValid(text) ? new ChunkId(text) : default;
        return !id.IsEmpty;
    }

    public static ChunkId Parse(string text) =>
        TryParse(text, out var id)
            ? id
            : throw new FormatException($"'{Truncate(text)}' is not a chunk id: expected 64 lowercase hex characters (SHA-256).");

    /// <summary>Writes the 32 hash bytes.</summary>
    public void WriteBytes(Span<byte> destination)
    {
        if (value is null)
        {
            throw new InvalidOperationException("The chunk id is empty.");
        }

        Convert.FromHexString(value, destination, out _, out var written);
        if (written != ByteLength)
        {
            throw new ArgumentException($"The destination needs {ByteLength} bytes.", nameof(destination));
        }
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[ByteLength];
        WriteBytes(bytes);
        return bytes;
    }

    public bool Equals(ChunkId other) => string.Equals(value, other.value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is ChunkId other && Equals(other);

    public override int GetHashCode() => value is null ? 0 : StringComparer.Ordinal.GetHashCode(value);

    public override string ToString() => Value;

    public static bool operator ==(ChunkId left, ChunkId right) => left.Equals(right);

    public static bool operator !=(ChunkId left, ChunkId right) => !left.Equals(right);

    private static string? Truncate(string? text) => text is { Length: > 80 } ? text[..80] + "…" : text;
}

public sealed class ChunkIdJsonConverter : JsonConverter<ChunkId>
{
    public override ChunkId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return ChunkId.TryParse(text, out var id)
            ? id
            : throw new JsonException("A chunk id must be 64 lowercase hex characters (SHA-256).");
    }

    public override void Write(Utf8JsonWriter writer, ChunkId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
