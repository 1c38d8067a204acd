using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.CertificateAuthority.Infrastructure;
using HeadyClouds.CertificateAuthority.Keys;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.Options;

namespace HeadyClouds.CertificateAuthority.Domain;

public sealed record CaGeneration(long Number, string KeyLabel, X509Certificate2 Certificate, ECDsa? Key, DateTimeOffset ActivatesAt);

public sealed record Issued(X509Certificate2 Certificate, SpiffeId Id, string Serial);

/// <summary>
/// The CA: its generations (one active signer; a newer one may be published in the bundle before it activates, so
/// every workload trusts it before it signs anything), issuance and renewal rules.
/// </summary>
public sealed class Authority
{
    private readonly CaStore store;
    private readonly ICaKeyStore keys;
    private readonly CertificateAuthorityOptions options;
    private readonly TimeProvider time;
    private readonly ILogger<Authority> logger;
    private readonly Lock gate = new();
    private volatile List<CaGeneration> generations = [];

    public Authority(CaStore store, ICaKeyStore keys, IOptions<CertificateAuthorityOptions> options, TimeProvider time, ILogger<Authority> logger)
    {
        this.store = store;
        this.keys = keys;
        this.options = options.Value;
        this.time = time;
        this.logger = logger;
        Load();
        RegisterConfiguredJoinTokens();
    }

    /// <summary>Raised when the set of CA certificates changes (rollover).</summary>
    public event Action? BundleChanged;

    public string TrustDomain => options.TrustDomain;

    public TimeSpan JoinTokenLifetime => options.JoinTokenLifetime;

    /// <summary>All CA certificates that are not expired, active or published ahead of activation.</summary>
    public X509Certificate2Collection TrustBundle()
    {
        var now = time.GetUtcNow();
        var bundle = new X509Certificate2Collection();
        foreach (var generation in generations)
        {
            if (generation.Certificate.NotAfter.ToUniversalTime() > now)
            {
                bundle.Add(generation.Certificate);
            }
        }

        return bundle;
    }

    /// <summary>The newest generation whose activation time has come and whose key is present.</summary>
    public CaGeneration Active()
    {
        var now = time.GetUtcNow();
        return generations.LastOrDefault(g => g.ActivatesAt <= now && g.Key is not null && g.Certificate.NotAfter.ToUniversalTime() > now)
            ?? throw new InvalidOperationException("The CA has no active signing key.");
    }

    public IReadOnlyList<CaGeneration> Generations => generations;

    public string KeyLabel(long generation) => $"{options.Pkcs11.KeyLabelPrefix}-{generation}";

    /// <summary>Creates a new CA generation: its key in the token, its certificate published now, signing from <paramref name="activatesAt"/>.</summary>
    public CaGeneration Rollover(DateTimeOffset activatesAt)
    {
        lock (gate)
        {
            var number = generations.Count == 0 ? 1 : generations[^1].Number + 1;
            var label = KeyLabel(number);
            var key = keys.Open(label) ?? keys.Create(label);
            var certificate = CertificateProfiles.CreateCaCertificate(key, number, time.GetUtcNow(), options.CaLifetime);
            store.AddCaCertificate(new CaCertificateRow(number, label, certificate.RawData, activatesAt));
            var generation = new CaGeneration(number, label, certificate, key, activatesAt);
            generations = [.. generations, generation];
            logger.LogWarning("CA generation {Generation} created (key {KeyLabel}); published now, signs from {ActivatesAt:o}", number, label, activatesAt);
            BundleChanged?.Invoke();
            return generation;
        }
    }

    /// <summary>First issuance: the join token decides the identity; the CSR only contributes the public key.</summary>
    public Issued? IssueWithJoinToken(string joinToken, PublicKey publicKey)
    {
        var service = store.ConsumeJoinToken(JoinToken.Hash(joinToken), time.GetUtcNow());
        return service is null ? null : Issue(service, publicKey, renewedFrom: null);
    }

    public Issued Issue(string service, PublicKey publicKey, string? renewedFrom)
    {
        var id = SpiffeId.ForService(service, options.TrustDomain);
        var signer = Active();
        var serial = CertificateProfiles.NewSerial();
        var now = time.GetUtcNow();
        var certificate = CertificateProfiles.CreateWorkloadCertificate(publicKey, id, options.DnsNamesFor(service), signer.Certificate, signer.Key!, now, options.LeafLifetime, options.ClockSkew, serial);
        var serialText = CertificateProfiles.SerialText(serial);
        store.AddIssued(new IssuedRow(serialText, service, certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), now, renewedFrom, null));
        logger.LogInformation("Issued {Serial} to {SpiffeId} until {NotAfter:o}{Renewal}", serialText, id, certificate.NotAfter.ToUniversalTime(), renewedFrom is null ? "" : $" (renewal of {renewedFrom})");
        return new Issued(certificate, id, serialText);
    }

    public string MintJoinToken(string service, TimeSpan? lifetime)
    {
        var token = JoinToken.New();
        var now = time.GetUtcNow();
        store.AddJoinToken(JoinToken.Hash(token), service, now, now + (lifetime ?? options.JoinTokenLifetime));
        return token;
    }

    private void Load()
    {
        var loaded = new List<CaGeneration>();
        foreach (var row in store.CaCertificates())
        {
            var certificate = X509CertificateLoader.LoadCertificate(row.Der);
            var key = keys.Open(row.KeyLabel);
            if (key is null)
            {
                logger.LogError("CA generation {Generation}: key {KeyLabel} is not in the key store; it stays in the bundle until it expires but cannot sign", row.Generation, row.KeyLabel);
            }

            loaded.Add(new CaGeneration(row.Generation, row.KeyLabel, certificate, key, row.ActivatesAt));
        }

        generations = loaded;
        var now = time.GetUtcNow();
        if (!generations.Any(g => g.Key is not null && g.Certificate.NotAfter.ToUniversalTime() > now))
        {
            // First start (or every key gone / expired): a CA that signs from now.
            Rollover(now);
        }
    }

    private void RegisterConfiguredJoinTokens()
    {
        foreach (var (service, token) in options.JoinTokens)
        {
            if (!SpiffeId.IsValidServiceName(service) || string.IsNullOrWhiteSpace(token) || token.Length < 32)
            {
                throw new InvalidOperationException($"CertificateAuthority:JoinTokens:{service}: the service name must be a valid SPIFFE path segment and the token at least 32 characters.");
            }

            // Configured tokens never expire by time; each is consumed by its first use, also across restarts.
            store.AddJoinToken(JoinToken.Hash(token), service, time.GetUtcNow(), null);
        }
    }
}
