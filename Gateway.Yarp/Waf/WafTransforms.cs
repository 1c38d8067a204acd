using System.Buffers;
using System.Net;
using System.Text;

namespace Gateway.Yarp.Waf;

/// <summary>
/// CRS-style transformations, applied to a copy of each value before signatures are matched. All are total functions:
/// malformed input (a lone '%', invalid UTF-8, a lone surrogate) never throws, it is kept or replaced by U+FFFD.
/// </summary>
public static class WafTransforms
{
    /// <summary>
    /// urlDecodeUni, repeated: a value is decoded again while it still changes, up to this many passes in all, so
    /// double- and triple-encoded payloads (%252e%252e) are seen as what the last decoder behind us would see.
    /// Bounded so a %25252525... chain costs at most this many linear passes.
    /// </summary>
    public const int MaxDecodePasses = 4;

    /// <summary>Percent-decodes (%XX as UTF-8 bytes, IIS-style %uXXXX), repeatedly and bounded; '+' is a space in the first pass only.</summary>
    public static string UrlDecodeRepeated(string value, bool plusIsSpace)
    {
        var current = value;
        for (var pass = 0; pass < MaxDecodePasses; pass++)
        {
            var next = UrlDecodeUni(current, plusIsSpace && pass == 0);
            if (ReferenceEquals(next, current))
            {
                break;
            }

            current = next;
        }

        return current;
    }

    /// <summary>One pass of urlDecodeUni. Returns the same instance when there is nothing to decode.</summary>
    public static string UrlDecodeUni(string value, bool plusIsSpace)
    {
        if (value.IndexOf('%') < 0 && !(plusIsSpace && value.Contains('+')))
        {
            return value;
        }

        var output = new StringBuilder(value.Length);
        var bytes = ArrayPool<byte>.Shared.Rent(value.Length);
        var count = 0;
        try
        {
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
                {
                    bytes[count++] = (byte)((HexValue(value[i + 1]) << 4) | HexValue(value[i + 2]));
                    i += 2;
                    continue;
                }

                Flush(output, bytes, ref count);
                if (c == '%' && i + 5 < value.Length && (value[i + 1] is 'u' or 'U')
                    && IsHex(value[i + 2]) && IsHex(value[i + 3]) && IsHex(value[i + 4]) && IsHex(value[i + 5]))
                {
                    output.Append((char)((HexValue(value[i + 2]) << 12) | (HexValue(value[i + 3]) << 8) | (HexValue(value[i + 4]) << 4) | HexValue(value[i + 5])));
                    i += 5;
                }
                else
                {
                    output.Append(c == '+' && plusIsSpace ? ' ' : c);
                }
            }

            Flush(output, bytes, ref count);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }

        var decoded = output.ToString();
        return decoded == value ? value : decoded;
    }

    /// <summary>
    /// The view XSS/SQLi/LFI signatures match against: NULs removed, HTML entities decoded (htmlEntityDecode), Unicode
    /// compatibility forms folded (NFKC: fullwidth ．／ become ./), lowercased, and every run of whitespace or control
    /// characters compressed to one space (compressWhitespace).
    /// </summary>
    public static string Normalize(string decoded)
    {
        var text = decoded.Contains('\0') ? decoded.Replace("\0", string.Empty, StringComparison.Ordinal) : decoded;
        if (text.Contains('&'))
        {
            text = WebUtility.HtmlDecode(text);
        }

        if (!Ascii.IsValid(text))
        {
            try
            {
                text = text.Normalize(NormalizationForm.FormKC);
            }
            catch (ArgumentException)
            {
                // A lone surrogate (e.g. from %uD800): leave the text as it is; the other transformations still apply.
            }
        }

        return CompressWhitespace(text.ToLowerInvariant());
    }

    /// <summary>
    /// The SQL view (replaceComments): <see cref="Normalize"/>d text with each /* ... */ comment (or an unterminated
    /// /* ...) replaced by a space, so UNION/**/SELECT reads as UNION SELECT; MySQL's executable /*! ... */ keeps its body.
    /// </summary>
    public static string ReplaceSqlComments(string normalized)
    {
        var start = normalized.IndexOf("/*", StringComparison.Ordinal);
        if (start < 0)
        {
            return normalized;
        }

        var output = new StringBuilder(normalized.Length);
        var position = 0;
        while (start >= 0)
        {
            output.Append(normalized, position, start - position).Append(' ');
            var end = normalized.IndexOf("*/", start + 2, StringComparison.Ordinal);
            if (start + 2 < normalized.Length && normalized[start + 2] == '!')
            {
                // MySQL runs the body of /*! ... */ and /*!50000 ... */: keep it, without the version number.
                var body = start + 3;
                while (body < normalized.Length && char.IsAsciiDigit(normalized[body]))
                {
                    body++;
                }

                output.Append(normalized, body, (end < 0 ? normalized.Length : end) - body).Append(' ');
            }

            position = end < 0 ? normalized.Length : end + 2;
            start = position < normalized.Length ? normalized.IndexOf("/*", position, StringComparison.Ordinal) : -1;
        }

        output.Append(normalized, position, normalized.Length - position);
        return CompressWhitespace(output.ToString());
    }

    /// <summary>Replaces each run of whitespace, control or U+FFFD characters by a single space, and trims.</summary>
    public static string CompressWhitespace(string text)
    {
        var needed = false;
        for (var i = 0; i < text.Length && !needed; i++)
        {
            var c = text[i];
            needed = IsSpaceLike(c) && (c != ' ' || i == 0 || i == text.Length - 1 || text[i - 1] == ' ');
        }

        if (!needed)
        {
            return text;
        }

        var output = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (IsSpaceLike(c))
            {
                pendingSpace = output.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                output.Append(' ');
                pendingSpace = false;
            }

            output.Append(c);
        }

        return output.ToString();
    }

    // U+FFFD stands for a byte that was not valid UTF-8 (a Latin-1 %A0 no-break space, say): databases with a single-byte
    // charset read such bytes as whitespace, so UNION%A0SELECT must read as UNION SELECT.
    private static bool IsSpaceLike(char c) => char.IsWhiteSpace(c) || char.IsControl(c) || c == '\uFFFD';

    private static void Flush(StringBuilder output, byte[] bytes, ref int count)
    {
        if (count > 0)
        {
            // Invalid UTF-8 (including overlong forms such as %c0%ae) becomes U+FFFD; the raw-form rule 930100 sees those.
            output.Append(Encoding.UTF8.GetString(bytes, 0, count));
            count = 0;
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
