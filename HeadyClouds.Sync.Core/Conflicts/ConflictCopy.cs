using System.Globalization;
using System.Text;
using HeadyClouds.Sync.Core.Paths;

namespace HeadyClouds.Sync.Core.Conflicts;

/// <summary>
/// Names of conflict copies, Dropbox style, in the same folder as the original:
/// <c>report (conflicted copy 2026-12-04 101500 laptop).docx</c>. The time is UTC; the device name is cleaned of
/// separators and control characters and shortened; the stem is shortened so the name stays within 255 bytes.
/// <c>attempt</c> &gt; 1 adds a counter when that name is already taken: <c>... laptop 2).docx</c>.
/// </summary>
public static class ConflictCopy
{
    public const int MaxDeviceLength = 40;
    private const string Marker = " (conflicted copy ";

    public static string PathFor(string path, DateTimeOffset when, string? device, int attempt = 1)
    {
        var folder = WorkspacePath.Parent(path);
        var name = WorkspacePath.Name(path);
        var dot = name.LastIndexOf('.');
        // ".bashrc" has no extension; "archive.tar.gz" keeps ".gz" only, as Dropbox does.
        var (stem, extension) = dot > 0 ? (name[..dot], name[dot..]) : (name, "");
        var suffix = $"{Marker}{when.UtcDateTime.ToString("yyyy-MM-dd HHmmss", CultureInfo.InvariantCulture)} {CleanDevice(device)}{(attempt > 1 ? " " + attempt.ToString(CultureInfo.InvariantCulture) : "")}){extension}";
        var budget = WorkspacePath.MaxNameBytes - Encoding.UTF8.GetByteCount(suffix);
        while (Encoding.UTF8.GetByteCount(stem) > budget && stem.Length > 0)
        {
            stem = stem[..^(char.IsLowSurrogate(stem[^1]) && stem.Length > 1 ? 2 : 1)];
        }

        var copy = stem + suffix;
        return folder.Length == 0 ? copy : folder + "/" + copy;
    }

    /// <summary>True when the path's name was made by <see cref="PathFor"/> (clients skip re-conflicting such copies).</summary>
    public static bool IsConflictCopy(string path) => WorkspacePath.Name(path).Contains(Marker, StringComparison.Ordinal);

    public static string CleanDevice(string? device)
    {
        var builder = new StringBuilder();
        foreach (var c in device ?? "")
        {
            builder.Append(char.IsControl(c) || c is '/' or '\\' or '(' or ')' || char.IsSurrogate(c) ? '_' : c);
        }

        var cleaned = builder.ToString().Trim();
        if (cleaned.Length > MaxDeviceLength)
        {
            cleaned = cleaned[..MaxDeviceLength].TrimEnd();
        }

        return cleaned.Length == 0 ? "unknown device" : cleaned;
    }
}
