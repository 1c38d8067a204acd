using System.Text;

namespace HeadyClouds.Sync.Core.Paths;

/// <summary>The outcome of <see cref="WorkspacePath.Validate"/>: the path as stored and its key, or a precise error.</summary>
public readonly record struct PathCheck(bool IsValid, string Path, string Key, string? Error)
{
    public static PathCheck Invalid(string error) => new(false, "", "", error);
}

/// <summary>
/// Rules for paths inside a workspace, shared by the server and its clients so both refuse the same names.
/// A path is relative, '/'-separated, without empty, "." or ".." segments, NUL or control characters; a name is at most
/// 255 UTF-8 bytes and a path at most 4096. The tree is keyed by the Unicode NFC form (<see cref="Key"/>), and case
/// matters (like Linux: "A.txt" and "a.txt" are two files). Two names in one folder whose NFC forms are equal but whose
/// spellings differ (macOS NFD vs. NFC) are refused: see <see cref="FindNormalizationClash"/>.
/// </summary>
public static class WorkspacePath
{
    public const int MaxNameBytes = 255;
    public const int MaxPathBytes = 4096;

    public static PathCheck Validate(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return PathCheck.Invalid("The path is empty.");
        }

        // Before anything that encodes or normalizes: both throw on invalid UTF-16.
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return PathCheck.Invalid($"The path contains an unpaired UTF-16 surrogate at position {i}.");
            }

            if (c == '\0')
            {
                return PathCheck.Invalid($"The path contains a NUL character at position {i}.");
            }

            if (char.IsControl(c))
            {
                return PathCheck.Invalid($"The path contains the control character U+{(int)c:X4} at position {i}.");
            }
        }

        if (path[0] == '/' || path[0] == '\\' || (path.Length >= 2 && path[1] == ':' && char.IsAsciiLetter(path[0])))
        {
            return PathCheck.Invalid($"The path '{path}' is absolute; workspace paths are relative to the workspace root, like 'docs/report.docx'.");
        }

        if (path.Contains('\\'))
        {
            return PathCheck.Invalid($"The path '{path}' contains a backslash; the separator is '/' and names may not contain '\\'.");
        }

        var bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > MaxPathBytes)
        {
            return PathCheck.Invalid($"The path is {bytes} bytes in UTF-8; the limit is {MaxPathBytes}.");
        }

        var segments = path.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0)
            {
                return PathCheck.Invalid(i == segments.Length - 1
                    ? $"The path '{path}' ends with '/'; it must name a file."
                    : $"The path '{path}' has an empty segment ('//').");
            }

            if (segment is "." or "..")
            {
                return PathCheck.Invalid($"The path '{path}' contains a '{segment}' segment; relative segments are not allowed.");
            }

            var nameBytes = Encoding.UTF8.GetByteCount(segment);
            if (nameBytes > MaxNameBytes)
            {
                return PathCheck.Invalid($"The name '{Shorten(segment)}' is {nameBytes} bytes in UTF-8; the limit is {MaxNameBytes}.");
            }
        }

        return new PathCheck(true, path, Key(path), null);
    }

    /// <summary>The tree key: the NFC form. Callers pass only validated paths.</summary>
    public static string Key(string path) => path.IsNormalized(NormalizationForm.FormC) ? path : path.Normalize(NormalizationForm.FormC);

    /// <summary>The folder part ("" at the root).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>Every folder above the path, outermost first: "a", "a/b" for "a/b/c.txt".</summary>
    public static IEnumerable<string> Folders(string path)
    {
        for (var i = path.IndexOf('/'); i >= 0; i = path.IndexOf('/', i + 1))
        {
            yield return path[..i];
        }
    }

    /// <summary>
    /// Two spellings in <paramref name="paths"/> (already valid) of the same name in the same folder that differ only
    /// by Unicode normalization, at any level (file or folder); null when there is none. The server runs it over a
    /// request's paths together with the spellings already in the tree.
    /// </summary>
    public static NormalizationClash? FindNormalizationClash(IEnumerable<string> paths)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            foreach (var prefix in Folders(path).Append(path))
            {
                var key = Key(prefix);
                if (!seen.TryAdd(key, prefix) && !string.Equals(seen[key], prefix, StringComparison.Ordinal))
                {
                    return new NormalizationClash(seen[key], prefix);
                }
            }
        }

        return null;
    }

    public static string ClashMessage(NormalizationClash clash) =>
        $"'{clash.Second}' and '{clash.First}' differ only by Unicode normalization in the same folder; rename one of them.";

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "…" : s;
}

/// <summary>Two spellings (each a path prefix) that name the same entry under NFC.</summary>
public sealed record NormalizationClash(string First, string Second);
