using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HeadyClouds.Data;

/// <summary>
/// The services' PostgreSQL connections present their workload certificate (<see cref="MeshPostgres"/>) whenever the
/// service is a mesh workload (an <see cref="IMeshCredentials"/> is registered); otherwise nothing changes.
/// </summary>
public static class MeshDatabase
{
    /// <summary>For the EF Core context registered by Aspire's <c>AddNpgsqlDbContext</c> (composes with it).</summary>
    public static IServiceCollection AddMeshDatabase<TContext>(this IServiceCollection services) where TContext : DbContext =>
        services.ConfigureDbContext<TContext>((provider, options) =>
        {
            if (provider.GetService<IMeshCredentials>() is { } credentials)
            {
                options.UseNpgsql(npgsql => npgsql.ConfigureDataSource(source => source.UseMeshClientCertificate(credentials)));
            }
        });

    /// <summary>An <see cref="NpgsqlDataSource"/> for Npgsql used directly (<c>ConnectionStrings:&lt;name&gt;</c>), with the same client certificate.</summary>
    public static IServiceCollection AddMeshDataSource(this IServiceCollection services, IConfiguration configuration, string connectionName) =>
        services.AddSingleton(provider =>
        {
            var builder = new NpgsqlDataSourceBuilder(configuration.GetConnectionString(connectionName)
                ?? throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not configured."));
            if (provider.GetService<IMeshCredentials>() is { } credentials)
            {
                builder.UseMeshClientCertificate(credentials);
            }

            return builder.Build();
        });
}

/// <summary>
/// The workload's current certificate and key as files, for libpq tools (pg_dump, pg_restore: they read only files), in
/// a private temporary directory (0700, key 0600) that is removed on dispose. Written per run, so a renewal is picked up
/// by the next one and the key never stays on disk.
/// </summary>
public sealed class ClientCertificateFiles : IDisposable
{
    private readonly DirectoryInfo directory;

    private ClientCertificateFiles(DirectoryInfo directory) => this.directory = directory;

    public string CertificatePath => Path.Combine(directory.FullName, "cert.pem");

    public string KeyPath => Path.Combine(directory.FullName, "key.pem");

    /// <summary>Null when there is no workload certificate (not a mesh workload): connection strings stay as they are.</summary>
    public static ClientCertificateFiles? Write(IMeshCredentials? credentials)
    {
        if (credentials?.Current is not { } certificate)
        {
            return null;
        }

        var directory = Directory.CreateTempSubdirectory("heady-pg-client-");
        try
        {
            MeshEnrollment.WritePemFiles(new MeshCertificate(certificate, credentials.TrustBundle, certificate.SerialNumber), directory.FullName);
            return new ClientCertificateFiles(directory);
        }
        catch
        {
            directory.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>The connection string with <c>SSL Certificate</c>/<c>SSL Key</c> when it uses TLS (Npgsql reads them, and the backup maps them to PGSSLCERT/PGSSLKEY).</summary>
    public string Apply(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.SslMode is SslMode.Disable or SslMode.Allow or SslMode.Prefer)
        {
            return connectionString;
        }

        builder.SslCertificate = CertificatePath;
        builder.SslKey = KeyPath;
        return builder.ConnectionString;
    }

    public void Dispose()
    {
        try
        {
            directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort; the temp directory is private to this user.
        }
    }
}
