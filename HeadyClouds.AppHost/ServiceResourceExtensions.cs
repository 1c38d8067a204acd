using HeadyClouds.AppHost.Mesh;
using Microsoft.Extensions.DependencyInjection;

namespace HeadyClouds.AppHost;

public static class ServiceResourceExtensions
{
    public const string MigrateArgument = "--migrate";

    /// <summary>
    /// The project once more, run with <c>--migrate</c>: it applies the service's EF Core migrations and exits.
    /// No launch profile, so it gets no endpoint it would never serve.
    /// </summary>
    /// <remarks>
    /// In run mode the migrator is a mesh workload of its own (<c>&lt;service&gt;-migrations</c>, a join token per start):
    /// the local PostgreSQL admits only clients with a certificate of the internal CA. Containers in publish mode keep the
    /// images' plain PostgreSQL (docs/security.md), so no join-token parameters are added to the manifest for them.
    /// </remarks>
    public static IResourceBuilder<ProjectResource> AddMigrations<TProject>(
        this IDistributedApplicationBuilder builder,
        string serviceName,
        IResourceBuilder<IResourceWithConnectionString> database,
        IResourceBuilder<IResource> databaseServer,
        MeshAuthority mesh)
        where TProject : IProjectMetadata, new()
    {
        var migrations = builder.AddProject<TProject>(serviceName + ResourceNames.MigrationsSuffix, options => options.ExcludeLaunchProfile = true)
            .WithArgs(MigrateArgument)
            .WithReference(database)
            .WaitFor(databaseServer);
        return builder.ExecutionContext.IsPublishMode ? migrations : migrations.WithMeshIdentity(mesh, probe: false);
    }

    /// <summary>
    /// The gateway's certificate (a development one generated in the state directory in run mode; files named by
    /// parameters in the manifest), its public HTTPS port for redirects, and readiness checked over that HTTPS port.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithGatewayTls(this IResourceBuilder<ProjectResource> gateway, string stateDirectory)
    {
        var builder = gateway.ApplicationBuilder;
        var https = gateway.GetEndpoint("https");
        gateway.WithEnvironment("Edge__Tls__PublicHttpsPort", https.Property(EndpointProperty.Port));
        if (builder.ExecutionContext.IsPublishMode)
        {
            return gateway
                .WithEnvironment("Edge__Tls__CertificatePath", builder.AddParameter(ResourceNames.GatewayCertificatePath))
                .WithEnvironment("Edge__Tls__KeyPath", builder.AddParameter(ResourceNames.GatewayKeyPath));
        }

        var (certificatePath, keyPath) = GatewayCertificate.EnsureDevelopmentCertificate(stateDirectory);
        var check = $"{gateway.Resource.Name}-https-ready";
        builder.Services.AddHealthChecks().AddAsyncCheck(check, ct => GatewayCertificate.CheckHealthAsync(https, certificatePath, ct));
        return gateway
            .WithEnvironment("Edge__Tls__CertificatePath", certificatePath)
            .WithEnvironment("Edge__Tls__KeyPath", keyPath)
            .WithHealthCheck(check);
    }

    /// <summary>
    /// The key-encryption key of the envelope encryption, as key id <c>kek-1</c>. Rotation adds <c>kek-2</c> and makes it
    /// active while <c>kek-1</c> stays until every value is re-wrapped.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithKeyEncryptionKey(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<ParameterResource> kek) =>
        service
            .WithEnvironment("Encryption__ActiveKeyId", "kek-1")
            .WithEnvironment("Encryption__Keys__kek-1", kek);

    /// <summary>
    /// Settings every HeadyClouds service shares: the identity key (the gateway's user assertion), and the mesh identity,
    /// whose probe port carries readiness (/health) while the API port requires a client certificate.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPlatformDefaults(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<ParameterResource> identitySigningKey, MeshAuthority mesh) =>
        service
            .WithEnvironment("Identity__SigningKey", identitySigningKey)
            .WithMeshIdentity(mesh);
}
