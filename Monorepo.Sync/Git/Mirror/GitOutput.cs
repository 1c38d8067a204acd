using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("HeadyClouds.UnitTests")]

namespace Monorepo.Sync.Git.Mirror;

/// <summary>Parsing of git's machine-readable output. What a remote sends is untrusted: odd lines are skipped.</summary>
internal static class GitOutput
{
    /// <summary>
    /// Lines of <c>&lt;id&gt;\t&lt;ref&gt;</c> (<c>git ls-remote --refs</c>, or <c>for-each-ref</c> with that format) → ref → id.
    /// Lines whose id is not a full SHA-1/SHA-256 hex id or whose ref name is not a safe full ref name are skipped, so
    /// nothing a remote sends can become an option or a second refspec in a later argument vector.
    /// </summary>
    public static Dictionary<string, string> ParseRefLines(string output)
    {
        var refs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var rawLine in output.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab < 0)
            {
                continue;
            }

            var id = line[..tab];
            var name = line[(tab + 1)..];
            if (IsObjectId(id) && IsSafeRefName(name))
            {
                refs[name] = id.ToLowerInvariant();
            }
        }

        return refs;
    }

    /// <summary>40 (SHA-1) or 64 (SHA-256) hex digits.</summary>
    public static bool IsObjectId(string? id) =>
        id is { Length: 40 or 64 } && id.All(char.IsAsciiHexDigit);

    /// <summary>A full ref name under <c>refs/</c> that git accepts (check-ref-format rules) and that needs no quoting.</summary>
    public static bool IsSafeRefName(string? name)
    {
        if (name is null || name.Length is < 6 or > 1024 || !name.StartsWith("refs/", StringComparison.Ordinal))
        {
            return false;
        }

        if (name.EndsWith('/') || name.EndsWith('.') || name.Contains("..", StringComparison.Ordinal) ||
            name.Contains("@{", StringComparison.Ordinal) || name.Contains("//", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c <= ' ' || c == '\u007f' || c is '~' or '^' or ':' or '?' or '*' or '[' or '\\')
            {
                return false;
            }
        }

        foreach (var segment in name.Split('/'))
        {
            if (segment.StartsWith('.') || segment.EndsWith(".lock", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One ref's line of <c>git push --porcelain</c>.</summary>
    public sealed record PushStatus(char Flag, string Ref, string Summary)
    {
        /// <summary>' ' fast-forward, '+' forced, '-' deleted, '*' new, '=' already up to date.</summary>
        public bool Succeeded => Flag is ' ' or '+' or '-' or '*' or '=';
    }

    /// <summary>
    /// The per-ref lines of <c>git push --porcelain</c> (<c>&lt;flag&gt;\t&lt;from&gt;:&lt;to&gt;\t&lt;summary&gt;</c>) → ref → status.
    /// </summary>
    public static Dictionary<string, PushStatus> ParsePushPorcelain(string output)
    {
        var statuses = new Dictionary<string, PushStatus>(StringComparer.Ordinal);
        foreach (var rawLine in output.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var parts = line.Split('\t');
            if (parts.Length < 3 || parts[0].Length != 1)
            {
                continue;
            }

            var colon = parts[1].IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var target = parts[1][(colon + 1)..];
            if (IsSafeRefName(target))
            {
                statuses[target] = new PushStatus(parts[0][0], target, string.Join('\t', parts[2..]).Trim());
            }
        }

        return statuses;
    }
}
