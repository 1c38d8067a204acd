using System.Globalization;

namespace Heady.Cli.Commands;

/// <summary>
/// Sizes as people type them: <c>500000</c> (bytes), <c>1.5GiB</c>, <c>10 GB</c>. KiB/MiB/GiB/TiB are powers of 1024,
/// kB/MB/GB/TB powers of 1000 (as disk vendors and Dropbox plans count); a bare B or no unit is bytes.
/// </summary>
public static class ByteSize
{
    private static readonly (string Unit, long Factor)[] Units =
    [
        ("tib", 1L << 40), ("gib", 1L << 30), ("mib", 1L << 20), ("kib", 1L << 10),
        ("tb", 1_000_000_000_000), ("gb", 1_000_000_000), ("mb", 1_000_000), ("kb", 1_000),
        ("b", 1),
    ];

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        var value = text?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var factor = 1L;
        foreach (var (unit, f) in Units)
        {
            if (value.EndsWith(unit, StringComparison.Ordinal))
            {
                value = value[..^unit.Length].TrimEnd();
                factor = f;
                break;
            }
        }

        if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var total = number * factor;
        if (total > long.MaxValue || decimal.Truncate(total) != total)
        {
            // Fractions of a byte mean a typo more often than intent.
            return false;
        }

        bytes = (long)total;
        return true;
    }
}
