namespace Monorepo.Sync.Git.Mirror;

/// <summary>
/// Which refs a mirror carries: a ref is mirrored when it matches an include pattern and no exclude pattern.
/// </summary>
/// <remarks>
/// Pattern language (the same for protected-ref patterns, see <see cref="PatternMatches"/>), on '/'-separated segments:
/// <list type="bullet">
/// <item><c>*</c> matches any characters within one segment (<c>refs/heads/*</c> matches <c>refs/heads/main</c>, not
/// <c>refs/heads/feature/x</c>); <c>?</c> matches one character within a segment.</item>
/// <item><c>**</c> as a whole segment matches any number of segments: one or more at the end
/// (<c>refs/heads/release/**</c> matches everything under <c>refs/heads/release/</c>, not that ref itself), zero or more
/// elsewhere (<c>refs/**/main</c>).</item>
/// <item>Anything else is literal. A pattern starts with <c>refs/</c> and holds no character git forbids in a ref name.</item>
/// </list>
/// This differs from git refspec globs on purpose, where one <c>*</c> also matches '/': a pattern says exactly which refs
/// it means, and <see cref="ToFetchRefspecs"/> turns patterns into (possibly wider) refspecs whose surplus the engine removes.
/// </remarks>
public sealed class RefFilter
{
    /// <summary>Every branch and every tag.</summary>
    public static RefFilter Default { get; } = new(["refs/heads/**", "refs/tags/**"]);

    public RefFilter(IEnumerable<string> include, IEnumerable<string>? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(include);
        Include = [.. include];
        Exclude = [.. exclude ?? []];
        if (Include.Count == 0)
        {
            throw new ArgumentException("A ref filter needs at least one include pattern.", nameof(include));
        }

        foreach (var pattern in Include.Concat(Exclude))
        {
            if (!TryValidatePattern(pattern, out var error))
            {
                throw new ArgumentException(error, nameof(include));
            }
        }
    }

    public IReadOnlyList<string> Include { get; }

    public IReadOnlyList<string> Exclude { get; }

    /// <summary>True when <paramref name="refName"/> matches an include pattern and no exclude pattern.</summary>
    public bool Matches(string refName) =>
        Include.Any(p => PatternMatches(p, refName)) && !Exclude.Any(p => PatternMatches(p, refName));

    /// <summary>The refs of <paramref name="refs"/> (ref name → object id) that this filter keeps.</summary>
    public IReadOnlyDictionary<string, string> Apply(IReadOnlyDictionary<string, string> refs) =>
        refs.Where(r => Matches(r.Key)).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);

    /// <summary>
    /// Refspecs for <c>git fetch --prune</c> into a bare mirror that bring at least every ref this filter matches: one
    /// forced glob per include pattern (its text up to the first wildcard, then git's <c>*</c>; a literal pattern becomes
    /// <c>pattern*</c> so that a ref missing upstream is no error), globs already covered by a wider one dropped, and a
    /// negative refspec for each exclude pattern git can express exactly (a literal, or <c>prefix/**</c>).
    /// A fetch with these may bring refs the filter does not match; the caller deletes them afterwards.
    /// </summary>
    public IReadOnlyList<string> ToFetchRefspecs()
    {
        var prefixes = Include.Select(GlobPrefix).Distinct(StringComparer.Ordinal).ToList();
        var kept = prefixes
            .Where(p => !prefixes.Any(other => other != p && p.StartsWith(other, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal);
        var refspecs = kept.Select(p => $"+{p}*:{p}*").ToList();
        foreach (var exclude in Exclude)
        {
            if (!HasWildcard(exclude))
            {
                refspecs.Add($"^{exclude}");
            }
            else if (exclude.EndsWith("/**", StringComparison.Ordinal) && !HasWildcard(exclude[..^3]))
            {
                refspecs.Add($"^{exclude[..^2]}*");
            }
        }

        return refspecs;
    }

    public override string ToString() =>
        Exclude.Count == 0 ? string.Join(", ", Include) : $"{string.Join(", ", Include)} except {string.Join(", ", Exclude)}";

    /// <summary>Checks a pattern (include, exclude or protected) against the rules in the class remarks.</summary>
    public static bool TryValidatePattern(string? pattern, out string error)
    {
        error = "";
        if (string.IsNullOrEmpty(pattern) || pattern.Length > 1024)
        {
            error = "A ref pattern must be 1-1024 characters.";
            return false;
        }

        if (!pattern.StartsWith("refs/", StringComparison.Ordinal))
        {
            error = $"Ref pattern '{Printable(pattern)}' must start with 'refs/'.";
            return false;
        }

        foreach (var c in pattern)
        {
            if (c <= ' ' || c == '\u007f' || c is '~' or '^' or ':' or '[' or '\\')
            {
                error = $"Ref pattern '{Printable(pattern)}' contains a character not allowed in ref names (space, control, ~ ^ : [ \\).";
                return false;
            }
        }

        if (pattern.Contains("..", StringComparison.Ordinal) || pattern.Contains("@{", StringComparison.Ordinal))
        {
            error = $"Ref pattern '{Printable(pattern)}' must not contain '..' or '@{{'.";
            return false;
        }

        foreach (var segment in pattern.Split('/'))
        {
            if (segment.Length == 0)
            {
                error = $"Ref pattern '{Printable(pattern)}' has an empty segment.";
                return false;
            }

            if (segment.Contains("**", StringComparison.Ordinal) && segment != "**")
            {
                error = $"Ref pattern '{Printable(pattern)}': '**' must be a whole segment.";
                return false;
            }

            if (segment.StartsWith('.') || segment.EndsWith(".lock", StringComparison.Ordinal))
            {
                error = $"Ref pattern '{Printable(pattern)}': a segment must not start with '.' or end with '.lock'.";
                return false;
            }
        }

        if (pattern.EndsWith('.'))
        {
            error = $"Ref pattern '{Printable(pattern)}' must not end with '.'.";
            return false;
        }

        return true;
    }

    /// <summary>Whether <paramref name="refName"/> matches <paramref name="pattern"/> (see the class remarks).</summary>
    public static bool PatternMatches(string pattern, string refName)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(refName);
        var patternSegments = pattern.Split('/');
        var nameSegments = refName.Split('/');
        // Memo of (pattern segment, name segment) → result: polynomial however many '**' a pattern holds.
        var memo = new sbyte[(patternSegments.Length + 1) * (nameSegments.Length + 1)];
        return MatchSegments(patternSegments, 0, nameSegments, 0, memo);
    }

    private static bool MatchSegments(string[] pattern, int p, string[] name, int n, sbyte[] memo)
    {
        var slot = (p * (name.Length + 1)) + n;
        if (memo[slot] != 0)
        {
            return memo[slot] > 0;
        }

        bool matched;
        if (p == pattern.Length)
        {
            matched = n == name.Length;
        }
        else if (pattern[p] == "**")
        {
            if (p == pattern.Length - 1)
            {
                // A trailing ** needs at least one segment: refs/heads/release/** is not refs/heads/release itself.
                matched = n < name.Length;
            }
            else
            {
                matched = false;
                for (var skip = n; skip <= name.Length && !matched; skip++)
                {
                    matched = MatchSegments(pattern, p + 1, name, skip, memo);
                }
            }
        }
        else
        {
            matched = n < name.Length && MatchSegment(pattern[p], name[n]) && MatchSegments(pattern, p + 1, name, n + 1, memo);
        }

        memo[slot] = matched ? (sbyte)1 : (sbyte)-1;
        return matched;
    }

    /// <summary>Glob match of one segment with '*' (any run) and '?' (one character); iterative, linear backtracking.</summary>
    private static bool MatchSegment(string pattern, string text)
    {
        int p = 0, t = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]) && pattern[p] != '*')
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starT = t;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool HasWildcard(string pattern) => pattern.AsSpan().IndexOfAny('*', '?') >= 0;

    private static string GlobPrefix(string pattern)
    {
        var wildcard = pattern.AsSpan().IndexOfAny('*', '?');
        return wildcard < 0 ? pattern : pattern[..wildcard];
    }

    private static string Printable(string text) =>
        new([.. text.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);
}
