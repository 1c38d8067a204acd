using System.Text.Json;
using HeadyClouds.Data.Crypto;
using HeadyClouds.ServiceDefaults;
using Monorepo.Sync.Domain;

namespace Monorepo.Sync.Application;

/// <summary>A credential as a client submits it; write-only (no API answer ever contains one).</summary>
public sealed record CredentialRequest(string? Kind, string? Username, string? Token, string? PrivateKey, string? KnownHosts);

/// <summary>Seals credentials and webhook secrets with the platform's envelope encryption, bound to their owner row.</summary>
public sealed class CredentialProtector(EnvelopeEncryption encryption)
{
    public static string SourceContext(Guid repositoryId) => $"monorepo:repository:{repositoryId}:source";

    public static string WebhookContext(Guid repositoryId) => $"monorepo:repository:{repositoryId}:webhook";

    public static string TargetContext(Guid targetId) => $"monorepo:target:{targetId}";

    public static string SplitContext(Guid splitId) => $"monorepo:split:{splitId}";

    public byte[] Seal(StoredCredential credential, string context) =>
        encryption.Encrypt(JsonSerializer.Serialize(credential), context);

    public StoredCredential? Open(byte[]? sealedCredential, string context) =>
        sealedCredential is null ? null : JsonSerializer.Deserialize<StoredCredential>(encryption.DecryptString(sealedCredential, context));

    public byte[] SealSecret(string secret, string context) => encryption.Encrypt(secret, context);

    public string OpenSecret(byte[] sealedSecret, string context) => encryption.DecryptString(sealedSecret, context);

    /// <summary>Checks a submitted credential against the URL it is for; null when none was submitted.</summary>
    public static StoredCredential? Validate(CredentialRequest? request, string? url, string field, Validation v)
    {
        if (request is null)
        {
            return null;
        }

        var isSsh = url is not null && (url.StartsWith("ssh://", StringComparison.Ordinal) || (!url.Contains("://", StringComparison.Ordinal) && url.Contains('@')));
        switch (request.Kind)
        {
            case StoredCredential.HttpsToken:
                v.Require(request.Token is { Length: >= 1 and <= 4096 } && !request.Token.Any(char.IsControl), $"{field}.token", "An HTTPS token credential needs a token (1-4096 printable characters).");
                v.Require(request.Username is null || (request.Username.Length <= 256 && Validation.IsCleanText(request.Username) && !request.Username.Contains(':')), $"{field}.username", "Username must be at most 256 characters without ':' or control characters.");
                v.Require(url is null || url.StartsWith("https://", StringComparison.Ordinal), field, "An HTTPS token credential only goes with an https:// URL.");
                return new StoredCredential(StoredCredential.HttpsToken, request.Username ?? "git", request.Token, null, null);
            case StoredCredential.SshKey:
                v.Require(request.PrivateKey is { Length: <= 16384 } && request.PrivateKey.Contains("PRIVATE KEY-----", StringComparison.Ordinal), $"{field}.privateKey", "An SSH credential needs a PEM/OpenSSH private key.");
                v.Require(!string.IsNullOrWhiteSpace(request.KnownHosts) && request.KnownHosts.Length <= 16384, $"{field}.knownHosts",
                    "An SSH credential needs the pinned host keys (known_hosts lines): unknown hosts are never trusted.");
                v.Require(url is null || isSsh, field, "An SSH key credential only goes with an ssh:// or user@host:path URL.");
                return new StoredCredential(StoredCredential.SshKey, null, null, request.PrivateKey, request.KnownHosts);
            default:
                v.Add($"{field}.kind", $"Credential kind must be '{StoredCredential.HttpsToken}' or '{StoredCredential.SshKey}'.");
                return null;
        }
    }
}
