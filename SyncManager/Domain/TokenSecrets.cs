using System.Security.Cryptography;
using System.Text;

namespace SyncManager.Domain;

/// <summary>Generation and hashing of API token secrets.</summary>
public static class TokenSecrets
{
    /// <summary>Recognisable prefix so leaked tokens can be found by secret scanners.</summary>
    public const string Marker = "hc_";
    public const int DisplayPrefixLength = 10;

    public static string Generate()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return Marker + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static string DisplayPrefix(string token) => token.Length <= DisplayPrefixLength ? token : token[..DisplayPrefixLength];

    /// <summary>Cheap shape check so obviously malformed tokens never reach the database.</summary>
    public static bool LooksValid(string? token) =>
        token is { Length: > 8 and <= 256 } && token.All(c => c is > ' ' and < (char)127);
}
