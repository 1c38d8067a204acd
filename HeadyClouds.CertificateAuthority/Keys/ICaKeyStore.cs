using System.Security.Cryptography;

namespace HeadyClouds.CertificateAuthority.Keys;

/// <summary>Where CA signing keys live. Keys are named by label; each CA generation has its own key.</summary>
public interface ICaKeyStore
{
    /// <summary>A P-256 signing key by label, or null if the store has none by that name.</summary>
    ECDsa? Open(string label);

    /// <summary>Generates a new P-256 key pair under <paramref name="label"/> that can sign but never be exported.</summary>
    ECDsa Create(string label);

    /// <summary>What the store says about the private key (for operators and tests).</summary>
    CaKeyAttributes Describe(string label);
}

public sealed record CaKeyAttributes(string Label, bool Sensitive, bool Extractable, bool NeverExtractable, bool AlwaysSensitive, bool OnToken);
