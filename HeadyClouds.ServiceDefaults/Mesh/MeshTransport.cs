using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>TLS settings of the mesh, for Kestrel (server side) and <see cref="SocketsHttpHandler"/> (client side).</summary>
public static class MeshTransport
{
    /// <summary>
    /// TLS 1.3 only; the server certificate is read from <paramref name="credentials"/> at every handshake (hot
    /// rotation); client certificates are validated against the internal CA bundle only, during the handshake, so a
    /// self-signed, foreign, expired or tampered certificate never gets a connection.
    /// </summary>
    public static HttpsConnectionAdapterOptions UseMeshTls(this HttpsConnectionAdapterOptions https, IMeshCredentials credentials, bool requireClientCertificate = true)
    {
        https.SslProtocols = SslProtocols.Tls13;
        https.ServerCertificateSelector = (_, _) => credentials.Current;
        https.ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;
        https.CheckCertificateRevocation = false;
        https.ClientCertificateValidation = (certificate, _, _) =>
            MeshCertificateValidator.Validate(certificate, credentials.TrustBundle, MeshCertificateValidator.ClientAuth, out _);
        return https;
    }

    /// <summary>
    /// Outgoing calls: TLS 1.3 only, present the current certificate (read at every new connection), accept a server only
    /// if it chains to the internal CA bundle, matches the host name and, when <paramref name="expectedService"/> is
    /// given, is that service. There is no switch to accept any certificate.
    /// </summary>
    public static SocketsHttpHandler ConfigureMeshClient(this SocketsHttpHandler handler, IMeshCredentials credentials, string? expectedService = null, TimeSpan? pooledConnectionLifetime = null)
    {
        handler.SslOptions.EnabledSslProtocols = SslProtocols.Tls13;
        handler.SslOptions.CertificateRevocationCheckMode = X509RevocationMode.NoCheck;
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => credentials.Current!;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            MeshCertificateValidator.ValidateServer(certificate, errors, credentials.TrustBundle, expectedService, out _);
        if (pooledConnectionLifetime is not null)
        {
            handler.PooledConnectionLifetime = pooledConnectionLifetime.Value;
        }

        return handler;
    }
}
