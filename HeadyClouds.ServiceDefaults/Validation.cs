namespace HeadyClouds.ServiceDefaults;

/// <summary>Collects field errors for a 400 validation problem (RFC 7807 with an <c>errors</c> map).</summary>
public sealed class Validation
{
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool IsValid => errors.Count == 0;

    public Validation Add(string field, string message)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }

        list.Add(message);
        return this;
    }

    public Validation Require(bool condition, string field, string message) => condition ? this : Add(field, message);

    public IDictionary<string, string[]> Errors => errors.ToDictionary(e => e.Key, e => e.Value.ToArray());

    /// <summary>True for text without control characters, leading or trailing spaces, or invalid UTF-16.</summary>
    public static bool IsCleanText(string? value) =>
        !string.IsNullOrEmpty(value)
        && value.Trim().Length == value.Length
        && !value.Any(char.IsControl)
        && !HasLoneSurrogate(value) // before IsNormalized, which throws on invalid UTF-16
        && value.IsNormalized();

    private static bool HasLoneSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }
}
