using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Monorepo.Sync.Git.Split;

/// <summary>
/// One source commit as <c>git subtree</c>'s copy_commit reads it:
/// <c>git log -1 --pretty=format:'%an%n%ae%n%aD%n%cn%n%ce%n%cD%n%B'</c> (<see cref="Block"/>, raw bytes), plus the
/// raw <c>%ad</c>/<c>%cd</c> dates (<c>--date=raw</c>) that the in-memory path needs.
/// </summary>
internal sealed record CommitRecord(string Id, string AuthorRawDate, string CommitterRawDate, byte[] Block)
{
    /// <summary>The <c>git log</c> format whose output <see cref="ParseLog"/> reads (with <c>--date=raw</c>).</summary>
    public const string LogFormat = "%H%x00%ad%x00%cd%x00%an%n%ae%n%aD%n%cn%n%ce%n%cD%n%B%x00";

    /// <summary>Parses <c>git log --format=tformat:LogFormat</c> output: records end with NUL and a newline.</summary>
    public static Dictionary<string, CommitRecord> ParseLog(byte[] data)
    {
        var records = new Dictionary<string, CommitRecord>(StringComparer.Ordinal);
        var pos = 0;
        while (pos < data.Length)
        {
            var id = Encoding.ASCII.GetString(Field(data, ref pos));
            var authorDate = Encoding.ASCII.GetString(Field(data, ref pos));
            var committerDate = Encoding.ASCII.GetString(Field(data, ref pos));
            var block = Field(data, ref pos);
            if (pos < data.Length && data[pos] == (byte)'\n')
            {
                pos++;
            }

            records[id] = new CommitRecord(id, authorDate, committerDate, block);
        }

        return records;
    }

    private static byte[] Field(byte[] data, ref int pos)
    {
        var end = Array.IndexOf(data, (byte)0, pos);
        if (end < 0)
        {
            throw new SubtreeSplitException("Unexpected output from git log (a record is cut short).");
        }

        var field = data.AsSpan(pos, end - pos).ToArray();
        pos = end + 1;
        return field;
    }
}

/// <summary>The values copy_commit hands to <c>git commit-tree</c>: six <c>read</c>s, then the rest is the message.</summary>
internal sealed record CommitCopyInputs(
    byte[] AuthorName,
    byte[] AuthorEmail,
    byte[] AuthorDate,
    byte[] CommitterName,
    byte[] CommitterEmail,
    byte[] CommitterDate,
    byte[] Message)
{
    public static CommitCopyInputs From(CommitRecord record)
    {
        var pos = 0;
        var block = record.Block;
        var values = new byte[6][];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ShellRead.ReadSingle(block, ref pos);
        }

        return new CommitCopyInputs(values[0], values[1], values[2], values[3], values[4], values[5], block.AsSpan(pos).ToArray());
    }
}

/// <summary>
/// The POSIX shell's <c>read</c> without <c>-r</c>, as dash (/bin/sh, which runs git-subtree) implements it:
/// a backslash escapes the next byte (and is removed), backslash-newline joins lines, NUL bytes are dropped, and
/// unescaped IFS whitespace (space, tab, newline) separates fields and is trimmed at both ends.
/// </summary>
internal static class ShellRead
{
    private static bool IsIfsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n';

    /// <summary>Consumes one logical line; returns its bytes with, for each, whether it was escaped.</summary>
    public static List<(byte Value, bool Escaped)> ReadLine(ReadOnlySpan<byte> data, ref int pos)
    {
        var line = new List<(byte, bool)>();
        var backslash = false;
        while (pos < data.Length)
        {
            var c = data[pos++];
            if (c == 0)
            {
                continue;
            }

            if (backslash)
            {
                backslash = false;
                if (c != (byte)'\n')
                {
                    line.Add((c, true));
                }

                continue;
            }

            if (c == (byte)'\\')
            {
                backslash = true;
                continue;
            }

            if (c == (byte)'\n')
            {
                break;
            }

            line.Add((c, false));
        }

        return line;
    }

    /// <summary><c>read VAR</c>: the whole line with unescaped leading and trailing IFS whitespace removed.</summary>
    public static byte[] ReadSingle(ReadOnlySpan<byte> data, ref int pos) => Fields(ReadLine(data, ref pos), 1)[0];

    /// <summary>Splits a logical line over <paramref name="count"/> variables as <c>read a b rest</c> does.</summary>
    public static byte[][] Fields(List<(byte Value, bool Escaped)> line, int count)
    {
        var result = new byte[count][];
        var i = 0;
        for (var field = 0; field < count; field++)
        {
            while (i < line.Count && !line[i].Escaped && IsIfsWhitespace(line[i].Value))
            {
                i++;
            }

            var start = i;
            int end;
            if (field == count - 1)
            {
                end = line.Count;
                while (end > start && !line[end - 1].Escaped && IsIfsWhitespace(line[end - 1].Value))
                {
                    end--;
                }

                i = line.Count;
            }
            else
            {
                while (i < line.Count && (line[i].Escaped || !IsIfsWhitespace(line[i].Value)))
                {
                    i++;
                }

                end = i;
            }

            var bytes = new byte[end - start];
            for (var k = start; k < end; k++)
            {
                bytes[k - start] = line[k].Value;
            }

            result[field] = bytes;
        }

        return result;
    }
}

/// <summary>Byte-exact reproductions of what <c>git commit-tree</c> does to its input (git 2.39 ident.c, commit.c, date.c).</summary>
internal static class GitCommitFormat
{
    private static readonly string[] WeekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] MonthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    // 2100-01-01T00:00:00Z: git's tm_to_time_t refuses years from 2100 on, so GIT_*_DATE would be rejected there.
    private const long LastSafeLocalTime = 4102444800L - 86400;

    /// <summary>ident.c crud(): bytes trimmed from both ends of names and e-mails.</summary>
    private static bool IsCrud(byte c) =>
        c <= 32 || c is (byte)'.' or (byte)',' or (byte)':' or (byte)';' or (byte)'<' or (byte)'>' or (byte)'"' or (byte)'\\' or (byte)'\'';

    /// <summary>ident.c strbuf_addstr_without_crud(): trims crud, then drops '\n', '&lt;' and '&gt;'.</summary>
    public static byte[] WithoutCrud(ReadOnlySpan<byte> value)
    {
        var start = 0;
        while (start < value.Length && value[start] != 0 && IsCrud(value[start]))
        {
            start++;
        }

        var nul = value[start..].IndexOf((byte)0);
        var end = nul < 0 ? value.Length : start + nul;
        while (end > start && IsCrud(value[end - 1]))
        {
            end--;
        }

        var result = new List<byte>(end - start);
        foreach (var c in value[start..end])
        {
            if (c is not ((byte)'\n' or (byte)'<' or (byte)'>'))
            {
                result.Add(c);
            }
        }

        return [.. result];
    }

    /// <summary>
    /// The ident date that <c>git commit-tree</c> writes for <c>GIT_*_DATE=<paramref name="rfc2822Value"/></c>, when that
    /// value is exactly git's own RFC 2822 rendering of <paramref name="rawDate"/> (<c>%ad</c> with <c>--date=raw</c>)
    /// and inside the range where git's parse_date() gives the raw date back unchanged; otherwise null (then only
    /// <c>git commit-tree</c> itself can say).
    /// </summary>
    public static string? IdentDateIfRoundTrips(string rawDate, ReadOnlySpan<byte> rfc2822Value)
    {
        var space = rawDate.IndexOf(' ');
        if (space <= 0
            || !long.TryParse(rawDate.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
            || !int.TryParse(rawDate.AsSpan(space + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var tz)
            || rawDate.Length - space - 1 != 5)
        {
            return null;
        }

        var magnitude = Math.Abs(tz);
        if (magnitude > 9999 || magnitude / 100 >= 24 || magnitude % 100 >= 60)
        {
            return null;
        }

        var offsetSeconds = (magnitude / 100 * 60 + magnitude % 100) * 60L * Math.Sign(tz);
        var local = timestamp + offsetSeconds;
        if (local < 86400 || local >= LastSafeLocalTime)
        {
            return null;
        }

        var tm = DateTimeOffset.FromUnixTimeSeconds(local).UtcDateTime;
        var rfc = string.Create(CultureInfo.InvariantCulture,
            $"{WeekdayNames[(int)tm.DayOfWeek]}, {tm.Day} {MonthNames[tm.Month - 1]} {tm.Year} {tm.Hour:00}:{tm.Minute:00}:{tm.Second:00} {(tz < 0 ? '-' : '+')}{magnitude:0000}");
        return Encoding.ASCII.GetBytes(rfc).AsSpan().SequenceEqual(rfc2822Value) ? rawDate : null;
    }

    /// <summary>
    /// The commit object <c>git commit-tree</c> writes (default config: UTF-8, no encoding header, no signature), or
    /// null when an input is outside what this reproduction covers (then run <c>git commit-tree</c>).
    /// </summary>
    public static byte[]? TryBuildCommit(string tree, IReadOnlyList<string> parents, CommitRecord record, CommitCopyInputs inputs)
    {
        var authorDate = IdentDateIfRoundTrips(record.AuthorRawDate, inputs.AuthorDate);
        var committerDate = IdentDateIfRoundTrips(record.CommitterRawDate, inputs.CommitterDate);
        var authorName = WithoutCrud(inputs.AuthorName);
        var committerName = WithoutCrud(inputs.CommitterName);
        if (authorDate is null || committerDate is null || authorName.Length == 0 || committerName.Length == 0)
        {
            return null;
        }

        var buffer = new MemoryStream();
        void Ascii(string s) => buffer.Write(Encoding.ASCII.GetBytes(s));
        Ascii($"tree {tree}\n");
        foreach (var parent in parents)
        {
            Ascii($"parent {parent}\n");
        }

        Ascii("author ");
        buffer.Write(authorName);
        Ascii(" <");
        buffer.Write(WithoutCrud(inputs.AuthorEmail));
        Ascii($"> {authorDate}\ncommitter ");
        buffer.Write(committerName);
        Ascii(" <");
        buffer.Write(WithoutCrud(inputs.CommitterEmail));
        Ascii($"> {committerDate}\n\n");
        buffer.Write(inputs.Message);
        return VerifyUtf8(buffer.ToArray());
    }

    /// <summary>The object id git gives <paramref name="body"/> as a commit object.</summary>
    public static string ObjectId(byte[] body, bool sha256)
    {
        var header = Encoding.ASCII.GetBytes($"commit {body.Length}\0");
        var all = new byte[header.Length + body.Length];
        header.CopyTo(all, 0);
        body.CopyTo(all, header.Length);
        return Convert.ToHexStringLower(sha256 ? SHA256.HashData(all) : SHA1.HashData(all));
    }

    /// <summary>
    /// commit.c verify_utf8(): every byte that does not start a valid UTF-8 sequence (by git's rules: no overlong
    /// forms, surrogates, U+xxFFFE/F or U+FDD0..FDEF) is taken as Latin-1 and re-encoded. Returns the input if valid.
    /// </summary>
    public static byte[] VerifyUtf8(byte[] buffer)
    {
        var bad = FindInvalidUtf8(buffer, 0);
        if (bad < 0)
        {
            return buffer;
        }

        var output = new List<byte>(buffer.Length + 16);
        var pos = 0;
        while (bad >= 0)
        {
            for (var i = pos; i < bad; i++)
            {
                output.Add(buffer[i]);
            }

            var c = buffer[bad];
            output.Add((byte)(0xc0 + (c >> 6)));
            output.Add((byte)(0x80 + (c & 0x3f)));
            pos = bad + 1;
            bad = FindInvalidUtf8(buffer, pos);
        }

        for (var i = pos; i < buffer.Length; i++)
        {
            output.Add(buffer[i]);
        }

        return [.. output];
    }

    /// <summary>commit.c find_invalid_utf8(), returning an absolute offset or -1.</summary>
    private static int FindInvalidUtf8(byte[] buf, int start)
    {
        ReadOnlySpan<uint> maxCodepoint = [0x7f, 0x7ff, 0xffff, 0x10ffff];
        var pos = start;
        while (pos < buf.Length)
        {
            uint c = buf[pos++];
            if (c < 0x80)
            {
                continue;
            }

            var badOffset = pos - 1;
            var bytes = 0;
            while ((c & 0x40) != 0)
            {
                c = (c << 1) & 0xff;
                bytes++;
            }

            if (bytes < 1 || bytes > 3 || buf.Length - pos < bytes)
            {
                return badOffset;
            }

            var codepoint = (c & 0x7f) >> bytes;
            var minValue = maxCodepoint[bytes - 1] + 1;
            var maxValue = maxCodepoint[bytes];
            do
            {
                codepoint = (codepoint << 6) | (uint)(buf[pos] & 0x3f);
                if ((buf[pos++] & 0xc0) != 0x80)
                {
                    return badOffset;
                }
            }
            while (--bytes > 0);

            if (codepoint < minValue || codepoint > maxValue
                || (codepoint & 0x1ff800) == 0xd800
                || (codepoint & 0xfffe) == 0xfffe
                || codepoint is >= 0xfdd0 and <= 0xfdef)
            {
                return badOffset;
            }
        }

        return -1;
    }

    /// <summary>Bytes for an environment variable: valid UTF-8 as git would make it, then decoded.</summary>
    public static string EnvironmentValue(ReadOnlySpan<byte> value) => Encoding.UTF8.GetString(VerifyUtf8(value.ToArray()));
}
