using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Yarp.Edge;

public sealed class EdgeTlsOptions
{
    public const string Section = "Edge:Tls";

    /// <summary>PEM certificate chain of the public endpoint.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key of that certificate.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The port clients use for HTTPS (behind a proxy or orchestrator it differs from the bound port).</summary>
    public int? PublicHttpsPort { get; set; }
}

public static class EdgeTls
{
    /// <summary>
    /// Public TLS: 1.3 only (no downgrade to 1.2 for legacy clients: every client we ship speaks 1.3), with the
    /// configured certificate. Without a certificate the gateway refuses to start rather than serve plain HTTP.
    /// </summary>
    public static void ConfigureEdgeTls(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(EdgeTlsOptions.Section).Get<EdgeTlsOptions>() ?? new EdgeTlsOptions();
        builder.Services.Configure<EdgeTlsOptions>(builder.Configuration.GetSection(EdgeTlsOptions.Section));
        var certificate = LoadCertificate(options);
        builder.Services.Configure<KestrelServerOptions>(kestrel =>
        {
            // Server banners say which software to attack; the edge gives none.
            kestrel.AddServerHeader = false;
            kestrel.ConfigureHttpsDefaults(https =>
            {
                https.SslProtocols = SslProtocols.Tls13;
                https.ServerCertificate = certificate;
            });
        });
    }

    public static X509Certificate2 LoadCertificate(EdgeTlsOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.CertificatePath) || string.IsNullOrWhiteSpace(options.KeyPath))
        {
            throw new InvalidOperationException(
                "The gateway needs a TLS certificate: set Edge:Tls:CertificatePath and Edge:Tls:KeyPath (PEM files). " +
                "The AppHost generates a development certificate in its state directory.");
        }

        var certificate = X509Certificate2.CreateFromPemFile(options.CertificatePath, options.KeyPath);
        if (certificate.NotAfter < DateTime.UtcNow)
        {
            throw new InvalidOperationException($"The gateway certificate {options.CertificatePath} expired on {certificate.NotAfter:u}.");
        }

        return certificate;
    }
}
