using System.Security.Cryptography;
using System.Text;

namespace HeadyClouds.CertificateAuthority.Domain;

/// <summary>
/// Join tokens: 256 random bits, stored only as SHA-256 (a fast hash is enough for a high-entropy secret; nothing to
/// brute-force), bound to one service, single use.
/// </summary>
public static class JoinToken
{
    public const string Prefix = "hjt_";

    public static string New() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
