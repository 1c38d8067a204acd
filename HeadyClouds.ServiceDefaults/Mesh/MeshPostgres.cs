using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Npgsql;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// PostgreSQL clients in the mesh (decision 0006): besides verifying the server (<c>SSL Mode=VerifyFull</c> against the
/// internal CA's bundle, from the connection string), they present the workload certificate, which the local data
/// tier requires (pg_hba <c>clientcert=verify-full</c>, the CN mapped to an allowed service). The certificate is read at
/// every new physical connection, never captured: after a renewal the next connection presents the new one, and
/// pooled connections keep theirs, as HTTP and Redis connections do. Without TLS in the connection string (containers
/// mode, in-process tests against plain servers) nothing is presented.
/// </summary>
public static class MeshPostgres
{
    public static NpgsqlDataSourceBuilder UseMeshClientCertificate(this NpgsqlDataSourceBuilder builder, IMeshCredentials credentials)
    {
        builder.UseSslClientAuthenticationOptionsCallback(options => Present(options, credentials));
        return builder;
    }

    /// <summary>The same for a connection made by hand (health checks, tools).</summary>
    public static NpgsqlConnection UseMeshClientCertificate(this NpgsqlConnection connection, IMeshCredentials credentials)
    {
        connection.SslClientAuthenticationOptionsCallback = options => Present(options, credentials);
        return connection;
    }

    private static void Present(SslClientAuthenticationOptions options, IMeshCredentials credentials)
    {
        if (credentials.Current is { } certificate)
        {
            options.ClientCertificates = new X509CertificateCollection { certificate };
        }
    }
}
