using System.Security.Cryptography;
using System.Text;

namespace HeadyClouds.ServiceDefaults.Identity;

/// <summary>The contract between the gateway and SyncManager's token-introspection endpoint (RFC 7662 in spirit).</summary>
public static class TokenIntrospection
{
    public const string Path = "/internal/v1/tokens/introspect";

    /// <summary>
    /// Redis key under which the gateway caches an introspection answer. SyncManager deletes it when the token
    /// is revoked, so revocation is immediate; the TTL only bounds staleness if that delete is lost.
    /// </summary>
    public static string CacheKey(string token) =>
        "heady:introspect:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string CacheKey(byte[] tokenHash) => "heady:introspect:" + Convert.ToHexStringLower(tokenHash);

    /// <summary>
    /// Redis pub/sub channel on which SyncManager publishes the <see cref="CacheKey(byte[])"/> of a revoked token, so
    /// every gateway replica drops its in-memory copy of the answer at once.
    /// </summary>
    public const string EvictionChannel = "heady:introspect:evict";
}

public sealed record IntrospectionRequest(string Token);

public sealed record IntrospectionResponse(
    bool Active,
    Guid? UserId = null,
    string? Username = null,
    string[]? Roles = null,
    string[]? Scopes = null,
    Guid? TokenId = null,
    DateTimeOffset? ExpiresAt = null)
{
    public static readonly IntrospectionResponse Inactive = new(false);
}
