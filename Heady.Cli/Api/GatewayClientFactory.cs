using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Heady.Cli.Config;

namespace Heady.Cli.Api;

/// <summary>The HttpClient `heady` uses: bearer token, TLS always validated, optionally against a pinned CA only.</summary>
public static class GatewayClientFactory
{
    public static HttpClient Create(CliConfig config, TimeSpan? timeout = null)
    {
        if (!Uri.TryCreate(config.Gateway, UriKind.Absolute, out var gateway) || gateway.Scheme is not ("https" or "http"))
        {
            throw new CliException(ExitCodes.Config, $"'{config.Gateway}' is not a gateway URL (https://host[:port]). Run `heady login` again.");
        }

        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (config.CaFile is not null)
        {
            var ca = LoadCa(config.CaFile);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                // Only chains ending at the pinned CA are trusted (not the system store), and the name must match.
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { ca },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            };
        }

        var client = new HttpClient(new RetryHandler { InnerHandler = handler }) { BaseAddress = gateway, Timeout = timeout ?? TimeSpan.FromMinutes(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", config.Token);
        client.DefaultRequestHeaders.UserAgent.ParseAdd("heady/0.1");
        return client;
    }

    public static X509Certificate2 LoadCa(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            return text.Contains("-----BEGIN", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromPem(text)
                : X509CertificateLoader.LoadCertificateFromFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new CliException(ExitCodes.Config, $"Cannot read the CA certificate {path} ({e.Message}): give a PEM or DER file.");
        }
    }
}
