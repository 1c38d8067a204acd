using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.CertificateAuthority;

/// <summary>Configuration section <c>CertificateAuthority</c>.</summary>
public sealed class CertificateAuthorityOptions
{
    public const string Section = "CertificateAuthority";

    public string TrustDomain { get; set; } = SpiffeId.DefaultTrustDomain;

    /// <summary>SQLite file with the CA certificates, issued serials, revocations and join-token hashes (no secrets).</summary>
    public string StatePath { get; set; } = "";

    /// <summary>Lifetime of workload certificates: 24 h by default, down to seconds for tests.</summary>
    public TimeSpan LeafLifetime { get; set; } = TimeSpan.FromHours(24);

    public TimeSpan CaLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How far back a certificate's notBefore is set, for clocks a little behind (capped at a tenth of the lifetime).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Lifetime of join tokens minted through the operator API when the request does not say.</summary>
    public TimeSpan JoinTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Optional: where the CA writes its trust bundle (PEM, public) at start and after every rollover, for whoever must
    /// trust it before talking to it (the AppHost's <c>Mesh:TrustAnchors</c>, the data tier's CA file).
    /// </summary>
    public string? TrustBundlePath { get; set; }

    public Pkcs11Settings Pkcs11 { get; set; } = new();

    /// <summary>INSECURE development fallback: CA keys in memory. Logs a warning at every start.</summary>
    public bool InsecureSoftwareKey { get; set; }

    /// <summary>Join tokens provisioned by configuration (secret parameters): service name → token. Only hashes are stored.</summary>
    public Dictionary<string, string> JoinTokens { get; set; } = [];

    /// <summary>
    /// Host names (DNS names or IP addresses) per service for the certificate's SANs; a service not listed gets its own
    /// name and the loopback names (local mode reaches services on localhost).
    /// </summary>
    public Dictionary<string, string[]> DnsNames { get; set; } = [];

    /// <summary>Bearer token of the operator API (revocation, join tokens, rollover). A secret; at least 32 characters.</summary>
    public string OperatorToken { get; set; } = "";

    public sealed class Pkcs11Settings
    {
        public string ModulePath { get; set; } = "";

        public string TokenLabel { get; set; } = "";

        public string Pin { get; set; } = "";

        /// <summary>CA keys are labelled <c>&lt;prefix&gt;-&lt;generation&gt;</c>.</summary>
        public string KeyLabelPrefix { get; set; } = "heady-ca";
    }

    public string[] DnsNamesFor(string service) =>
        DnsNames.TryGetValue(service, out var names) && names.Length > 0 ? names : [service, "localhost", "127.0.0.1", "::1"];
}
