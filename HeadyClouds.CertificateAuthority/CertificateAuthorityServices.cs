using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.CertificateAuthority.Hosting;
using HeadyClouds.CertificateAuthority.Infrastructure;
using HeadyClouds.CertificateAuthority.Keys;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HeadyClouds.CertificateAuthority;

public static class CertificateAuthorityServices
{
    public static WebApplicationBuilder AddCertificateAuthorityServices(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(CertificateAuthorityOptions.Section);
        var options = section.Get<CertificateAuthorityOptions>() ?? new CertificateAuthorityOptions();
        Validate(options);
        builder.Services.AddOptions<CertificateAuthorityOptions>().Bind(section);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(_ => new CaStore(options.StatePath));
        builder.Services.AddSingleton<ICaKeyStore>(_ => options.InsecureSoftwareKey
            ? new SoftwareKeyStore()
            : new Pkcs11KeyStore(options.Pkcs11.ModulePath, options.Pkcs11.TokenLabel, options.Pkcs11.Pin));
        builder.Services.AddSingleton<Authority>();
        builder.Services.AddSingleton<CaServingIdentity>();
        builder.Services.AddSingleton<IMeshCredentials>(sp => sp.GetRequiredService<CaServingIdentity>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CaServingIdentity>());
        builder.Services.AddHostedService<StartupReport>();

        // First issuance comes without a client certificate, so the CA allows (and validates) one rather than requiring it.
        builder.Services.AddMeshKestrel(builder.Configuration.GetValue<int>("CertificateAuthority:ProbePort"), requireClientCertificate: false);
        builder.Services.AddMeshAuthentication(options.TrustDomain)
            .AddScheme<OperatorAuthenticationOptions, OperatorAuthenticationHandler>(OperatorAuthenticationHandler.SchemeName, o =>
                o.TokenHash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(options.OperatorToken)));
        var operatorPolicy = new AuthorizationPolicyBuilder(OperatorAuthenticationHandler.SchemeName).RequireRole("ca-operator").Build();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(OperatorAuthenticationHandler.Policy, operatorPolicy)
            // An endpoint without its own authorization is an operator endpoint, never an open one.
            .SetFallbackPolicy(operatorPolicy);
        return builder;
    }

    private static void Validate(CertificateAuthorityOptions options)
    {
        if (options.LeafLifetime < TimeSpan.FromSeconds(2) || options.LeafLifetime > TimeSpan.FromDays(30))
        {
            throw new InvalidOperationException("CertificateAuthority:LeafLifetime must be between 2 seconds and 30 days.");
        }

        if (options.OperatorToken.Length < 32)
        {
            throw new InvalidOperationException("CertificateAuthority:OperatorToken must be a secret of at least 32 characters.");
        }

        if (!options.InsecureSoftwareKey
            && (string.IsNullOrWhiteSpace(options.Pkcs11.ModulePath) || string.IsNullOrWhiteSpace(options.Pkcs11.TokenLabel) || string.IsNullOrEmpty(options.Pkcs11.Pin)))
        {
            throw new InvalidOperationException(
                "The CA key lives in a PKCS#11 token: set CertificateAuthority:Pkcs11:ModulePath, :TokenLabel and :Pin " +
                "(or, for development only, CertificateAuthority:InsecureSoftwareKey=true).");
        }
    }

    /// <summary>Says at every start where the key is; the insecure mode is a warning every time, never silent.</summary>
    private sealed class StartupReport(IOptions<CertificateAuthorityOptions> options, Authority authority, ILogger<StartupReport> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var o = options.Value;
            if (o.InsecureSoftwareKey)
            {
                logger.LogWarning("INSECURE: CertificateAuthority:InsecureSoftwareKey=true — the CA signing key is a software key in process memory, not in an HSM. Development only.");
            }
            else
            {
                logger.LogInformation("CA signing key in PKCS#11 token '{Token}' ({Module})", o.Pkcs11.TokenLabel, o.Pkcs11.ModulePath);
            }

            if (!string.IsNullOrWhiteSpace(o.TrustBundlePath))
            {
                WriteBundle(o.TrustBundlePath);
                authority.BundleChanged += () => WriteBundle(o.TrustBundlePath);
            }

            var active = authority.Active();
            logger.LogInformation("Active CA generation {Generation}, serial {Serial}, valid until {NotAfter:o}; leaf lifetime {Lifetime}",
                active.Number, active.Certificate.SerialNumber, active.Certificate.NotAfter.ToUniversalTime(), o.LeafLifetime);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>Temp file and rename, so a reader never sees half a bundle.</summary>
        private void WriteBundle(string path)
        {
            var full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var temp = full + ".tmp";
            File.WriteAllText(temp, string.Concat(authority.TrustBundle().Select(c => c.ExportCertificatePem() + "\n")));
            File.Move(temp, full, overwrite: true);
            logger.LogInformation("Trust bundle written to {Path}", full);
        }
    }
}
