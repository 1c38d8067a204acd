namespace HeadyClouds.AppHost;

public static class ServiceResourceExtensions
{
    public const string MigrateArgument = "--migrate";

    /// <summary>
    /// The project once more, run with <c>--migrate</c>: it applies the service's EF Core migrations and exits.
    /// No launch profile, so it gets no endpoint it would never serve.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddMigrations<TProject>(
        this IDistributedApplicationBuilder builder,
        string serviceName,
        IResourceBuilder<IResourceWithConnectionString> database,
        IResourceBuilder<IResource> databaseServer)
        where TProject : IProjectMetadata, new() =>
        builder.AddProject<TProject>(serviceName + ResourceNames.MigrationsSuffix, options => options.ExcludeLaunchProfile = true)
            .WithArgs(MigrateArgument)
            .WithReference(database)
            .WaitFor(databaseServer);

    /// <summary>Settings every HeadyClouds service shares: the identity key and readiness by its /health endpoint.</summary>
    public static IResourceBuilder<ProjectResource> WithPlatformDefaults(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<ParameterResource> identitySigningKey) =>
        service
            .WithEnvironment("Identity__SigningKey", identitySigningKey)
            .WithHttpHealthCheck("/health");
}
