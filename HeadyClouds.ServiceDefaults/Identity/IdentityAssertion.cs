using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeadyClouds.ServiceDefaults.Identity;

/// <summary>
/// A short-lived, HMAC-SHA256-signed statement of the caller's identity that the gateway forwards to the
/// services (and that services present to each other). The services never trust a bare identity header:
/// a request without a valid, unexpired assertion is anonymous. Format: <c>base64url(json).base64url(mac)</c>.
/// See docs/decisions/0002-signed-identity-assertions.md; mTLS workload identity replaces the shared key later.
/// </summary>
public static class IdentityAssertion
{
    public const int MinimumKeyBytes = 32;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static byte[] KeyFromConfiguration(string? configured)
    {
        if (string.IsNullOrEmpty(configured))
        {
            throw new InvalidOperationException(
                "Identity:SigningKey is not configured. The AppHost passes it from the 'identity-signing-key' secret parameter.");
        }

        var key = Encoding.UTF8.GetBytes(configured);
        if (key.Length < MinimumKeyBytes)
        {
            throw new InvalidOperationException($"Identity:SigningKey must be at least {MinimumKeyBytes} bytes long.");
        }

        return key;
    }

    public static string Create(CallerIdentity identity, byte[] key, DateTimeOffset now, TimeSpan lifetime)
    {
        var payload = new Payload(
            identity.Kind == CallerKind.User ? "user" : "service",
            identity.Subject,
            identity.Name,
            identity.Roles.ToArray(),
            identity.Scopes.ToArray(),
            identity.TokenId,
            now.Add(lifetime).ToUnixTimeSeconds());
        var body = Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload, Json));
        return body + "." + Base64Url(Mac(key, body));
    }

    public static bool TryValidate(string? assertion, byte[] key, DateTimeOffset now, out CallerIdentity? identity, out string error)
    {
        identity = null;
        if (string.IsNullOrEmpty(assertion))
        {
            error = "missing identity assertion";
            return false;
        }

        var dot = assertion.IndexOf('.');
        if (dot <= 0 || dot != assertion.LastIndexOf('.'))
        {
            error = "malformed identity assertion";
            return false;
        }

        var body = assertion[..dot];
        if (!TryFromBase64Url(assertion[(dot + 1)..], out var mac)
            || !CryptographicOperations.FixedTimeEquals(mac, Mac(key, body)))
        {
            error = "identity assertion signature is invalid";
            return false;
        }

        Payload? payload;
        try
        {
            payload = TryFromBase64Url(body, out var json) ? JsonSerializer.Deserialize<Payload>(json, Json) : null;
        }
        catch (JsonException)
        {
            payload = null;
        }

        if (payload is null || string.IsNullOrEmpty(payload.Sub) || payload.Kind is not ("user" or "service"))
        {
            error = "identity assertion payload is invalid";
            return false;
        }

        if (DateTimeOffset.FromUnixTimeSeconds(payload.Exp) < now)
        {
            error = "identity assertion has expired";
            return false;
        }

        identity = new CallerIdentity(
            payload.Kind == "user" ? CallerKind.User : CallerKind.Service,
            payload.Sub,
            payload.Name ?? payload.Sub,
            payload.Roles ?? [],
            payload.Scopes ?? [],
            payload.Tid);
        error = "";
        return true;
    }

    private static byte[] Mac(byte[] key, string body) => HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryFromBase64Url(string text, out byte[] bytes)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        bytes = new byte[s.Length];
        if (Convert.TryFromBase64String(s, bytes, out var written))
        {
            bytes = bytes[..written];
            return true;
        }

        bytes = [];
        return false;
    }

    private sealed record Payload(
        string Kind,
        string Sub,
        string? Name,
        string[]? Roles,
        string[]? Scopes,
        string? Tid,
        long Exp);
}
