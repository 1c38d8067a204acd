using Microsoft.Extensions.Configuration;

namespace HeadyClouds.Data.Crypto;

/// <summary>
/// Key-encryption keys by id, one of them active. Configuration (from secret parameters):
/// <c>Encryption:ActiveKeyId</c> and <c>Encryption:Keys:&lt;id&gt;</c> = base64 of 32 random bytes, or a random
/// string of at least 32 characters (as Aspire generates secret parameters), stretched to 32 bytes with HKDF-SHA256.
/// Old keys stay in the ring until every blob has been re-wrapped (key rotation).
/// </summary>
public sealed class KeyRing
{
    public const string Section = "Encryption";

    private readonly Dictionary<string, byte[]> keys;

    public KeyRing(string activeKeyId, IReadOnlyDictionary<string, byte[]> keys)
    {
        if (keys.Count == 0 || !keys.ContainsKey(activeKeyId))
        {
            throw new InvalidOperationException($"The key ring has no active key '{activeKeyId}'.");
        }

        foreach (var (id, key) in keys)
        {
            if (key.Length != 32)
            {
                throw new InvalidOperationException($"Key-encryption key '{id}' must be 32 bytes (base64 of 32 random bytes).");
            }

            if (id.Length is 0 or > 64)
            {
                throw new InvalidOperationException("Key ids must be 1-64 characters.");
            }
        }

        this.keys = keys.ToDictionary(k => k.Key, k => k.Value.ToArray());
        ActiveKeyId = activeKeyId;
    }

    public string ActiveKeyId { get; }

    public (string Id, byte[] Key) Active => (ActiveKeyId, keys[ActiveKeyId]);

    public byte[]? Get(string id) => keys.TryGetValue(id, out var key) ? key : null;

    public static KeyRing FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var active = section["ActiveKeyId"];
        var configured = section.GetSection("Keys").GetChildren()
            .ToDictionary(c => c.Key, c => Decode(c.Key, c.Value));
        if (string.IsNullOrEmpty(active) || configured.Count == 0)
        {
            throw new InvalidOperationException(
                "Encryption:ActiveKeyId and Encryption:Keys:<id> are not configured; the AppHost passes them from the 'encryption-kek' secret parameter.");
        }

        return new KeyRing(active, configured);
    }

    public static byte[] Decode(string id, string? value)
    {
        value ??= "";
        var buffer = new byte[value.Length];
        if (Convert.TryFromBase64String(value, buffer, out var written) && written == 32)
        {
            return buffer[..32];
        }

        if (value.Length >= 32)
        {
            return System.Security.Cryptography.HKDF.DeriveKey(
                System.Security.Cryptography.HashAlgorithmName.SHA256,
                System.Text.Encoding.UTF8.GetBytes(value),
                32,
                info: System.Text.Encoding.UTF8.GetBytes("headyclouds-kek-v1"));
        }

        throw new InvalidOperationException($"Encryption:Keys:{id} must be base64 of 32 bytes or a random string of at least 32 characters.");
    }
}
