namespace Monorepo.Sync.Git.Split;

/// <summary>A split prefix was refused (see <see cref="SplitPrefix.Normalize"/> for the rules).</summary>
public sealed class InvalidSplitPrefixException(string message) : ArgumentException(message, "prefix");

/// <summary>Validation and normalisation of the directory that a subtree split extracts.</summary>
public static class SplitPrefix
{
    public const int MaxLength = 1024;

    /// <summary>
    /// Returns the canonical form of <paramref name="prefix"/>: a relative path inside the repository, components
    /// separated by single <c>/</c>, without a trailing <c>/</c> (<c>packages/ui/</c> becomes <c>packages/ui</c>, as
    /// <c>git subtree</c> strips it too). Refused: empty, absolute (<c>/x</c>), <c>.</c> or <c>..</c> components, empty
    /// components (<c>a//b</c>), backslashes, control characters, components with spaces around them, <c>.git</c>
    /// components, and more than <see cref="MaxLength"/> characters.
    /// </summary>
    /// <exception cref="InvalidSplitPrefixException">The prefix is refused; the message says why.</exception>
    public static string Normalize(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            throw new InvalidSplitPrefixException("The split prefix is required (a directory such as 'packages/ui').");
        }

        if (prefix.Length > MaxLength)
        {
            throw new InvalidSplitPrefixException($"The split prefix is longer than {MaxLength} characters.");
        }

        if (prefix.StartsWith('/'))
        {
            throw new InvalidSplitPrefixException("The split prefix must be relative to the repository root (no leading '/').");
        }

        foreach (var c in prefix)
        {
            if (char.IsControl(c) || c == '\\')
            {
                throw new InvalidSplitPrefixException("The split prefix must not contain control characters or backslashes.");
            }
        }

        if (!HasValidSurrogates(prefix))
        {
            throw new InvalidSplitPrefixException("The split prefix is not valid Unicode.");
        }

        var trimmed = prefix.TrimEnd('/');
        if (trimmed.Length == 0)
        {
            throw new InvalidSplitPrefixException("The split prefix must name a directory, not the repository root.");
        }

        foreach (var component in trimmed.Split('/'))
        {
            if (component.Length == 0)
            {
                throw new InvalidSplitPrefixException("The split prefix must not contain empty components ('//').");
            }

            if (component is "." or "..")
            {
                throw new InvalidSplitPrefixException("The split prefix must not contain '.' or '..' components.");
            }

            if (component.Trim() != component)
            {
                throw new InvalidSplitPrefixException("The components of the split prefix must not start or end with spaces.");
            }

            if (component.Equals(".git", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidSplitPrefixException("The split prefix must not contain a '.git' component.");
            }
        }

        return trimmed;
    }

    /// <summary>Like <see cref="Normalize"/>, without throwing.</summary>
    public static bool TryNormalize(string? prefix, out string normalized, out string error)
    {
        try
        {
            normalized = Normalize(prefix);
            error = "";
            return true;
        }
        catch (InvalidSplitPrefixException e)
        {
            normalized = "";
            error = e.Message;
            return false;
        }
    }

    private static bool HasValidSurrogates(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }
}
