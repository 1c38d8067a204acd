using HeadyClouds.AppHost.Mesh;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HeadyClouds.AppHost.DataTier;

/// <summary>The data tier as the services see it: a connection string per need, whichever mode runs it.</summary>
public sealed record DataTierResources(
    DataTierMode Mode,
    string StateDirectory,
    IResourceBuilder<IResource> PostgresServer,
    IResourceBuilder<IResourceWithConnectionString> SyncManagerDb,
    IResourceBuilder<IResourceWithConnectionString> HeadyMeDb,
    IResourceBuilder<IResourceWithConnectionString> MonorepoDb,
    IResourceBuilder<IResourceWithConnectionString> Redis,
    IResourceBuilder<IResourceWithConnectionString> ObjectStore);

public static class DataTierExtensions
{
    /// <summary>Where local mode keeps its state (env <c>HeadyClouds__StateDirectory</c>).</summary>
    public const string StateDirectoryKey = "HeadyClouds:StateDirectory";

    /// <param name="mesh">Local mode: PostgreSQL and Redis get certificates from this CA and take TLS only.</param>
    public static DataTierResources AddDataTier(this IDistributedApplicationBuilder builder, MeshAuthority mesh)
    {
        var mode = DataTierModeResolver.Resolve(builder.Configuration, builder.ExecutionContext.IsPublishMode);
        var postgresPassword = builder.AddParameter(ResourceNames.PostgresPassword, new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
        var redisPassword = builder.AddParameter(ResourceNames.RedisPassword, new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
        var objectStoreUser = builder.AddParameter(ResourceNames.ObjectStoreUser, new GenerateParameterDefault { MinLength = 12, Special = false, Upper = false }, secret: true, persist: true);
        var objectStorePassword = builder.AddParameter(ResourceNames.ObjectStorePassword, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

        return mode == DataTierMode.Containers
            ? builder.AddContainerDataTier(postgresPassword, redisPassword, objectStoreUser, objectStorePassword)
            : builder.AddLocalDataTier(mesh, postgresPassword, redisPassword, objectStoreUser, objectStorePassword);
    }

    private static DataTierResources AddContainerDataTier(
        this IDistributedApplicationBuilder builder,
        IResourceBuilder<ParameterResource> postgresPassword,
        IResourceBuilder<ParameterResource> redisPassword,
        IResourceBuilder<ParameterResource> objectStoreUser,
        IResourceBuilder<ParameterResource> objectStorePassword)
    {
        var postgres = builder.AddPostgres(ResourceNames.Postgres, password: postgresPassword)
            .WithImageTag("15-alpine")
            .WithDataVolume("headyclouds-postgres-data")
            .WithHardening(ContainerHardening.Postgres);

        var redis = builder.AddRedis(ResourceNames.Redis, password: redisPassword)
            .WithImageTag("7-alpine")
            .WithHardening(ContainerHardening.Redis);

        var minio = builder.AddResource(new MinioContainerResource(ResourceNames.ObjectStore, objectStoreUser.Resource, objectStorePassword.Resource))
            .WithImage("minio/minio", "RELEASE.2025-04-22T22-12-26Z")
            .WithImageRegistry("docker.io")
            .WithArgs("server", "/data")
            .WithHttpEndpoint(targetPort: 9000, name: MinioContainerResource.HttpEndpointName)
            .WithEnvironment("MINIO_ROOT_USER", objectStoreUser)
            .WithEnvironment("MINIO_ROOT_PASSWORD", objectStorePassword)
            .WithVolume("headyclouds-minio-data", "/data")
            .WithHttpHealthCheck("/minio/health/live", endpointName: MinioContainerResource.HttpEndpointName)
            .WithHardening(ContainerHardening.Minio);

        return new DataTierResources(
            DataTierMode.Containers,
            StateDirectory(builder.Configuration),
            postgres.AsResource(),
            postgres.AddDatabase(ResourceNames.SyncManagerDb, DatabaseNames.SyncManager).AsConnectionString(),
            postgres.AddDatabase(ResourceNames.HeadyMeDb, DatabaseNames.HeadyMe).AsConnectionString(),
            postgres.AddDatabase(ResourceNames.MonorepoDb, DatabaseNames.Monorepo).AsConnectionString(),
            redis.AsConnectionString(),
            minio.AsConnectionString());
    }

    private static DataTierResources AddLocalDataTier(
        this IDistributedApplicationBuilder builder,
        MeshAuthority mesh,
        IResourceBuilder<ParameterResource> postgresPassword,
        IResourceBuilder<ParameterResource> redisPassword,
        IResourceBuilder<ParameterResource> objectStoreUser,
        IResourceBuilder<ParameterResource> objectStorePassword)
    {
        var root = RepositoryRoot(builder);
        LocalPrerequisites.EnsurePresent(root);
        var state = StateDirectory(builder.Configuration);
        Directory.CreateDirectory(state);

        DataTierIdentities.Register(builder.Services);
        var tls = Path.Combine(state, "tls");

        var postgres = builder.AddResource(new LocalPostgresResource(ResourceNames.Postgres, "bash", root, FreePort(), postgresPassword.Resource, mesh.TrustBundlePath))
            .WithArgs(Path.Combine(root, "eng", "local", "postgres.sh"), Path.Combine(state, "postgres"))
            .WithArgs(ctx => ctx.Args.Add(ctx.Resource is LocalPostgresResource r ? r.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""))
            .WithEnvironment("HEADY_PG_PASSWORD", postgresPassword)
            .WithDataTierIdentity(mesh, "HEADY_PG_TLS_DIR", Path.Combine(tls, ResourceNames.Postgres))
            .WithLocalEndpoint()
            .WithIconName("Database");
        builder.AddLocalHealthCheck(postgres, (sp, r, ct) => LocalHealthChecks.PostgresAsync(r, sp.GetRequiredService<DataTierIdentities>().Current(r.Name), ct));

        var redis = builder.AddResource(new LocalRedisResource(ResourceNames.Redis, "bash", root, FreePort(), redisPassword.Resource, tls: true))
            .WithArgs(Path.Combine(root, "eng", "local", "redis.sh"), Path.Combine(state, "redis"))
            .WithArgs(ctx => ctx.Args.Add(ctx.Resource is LocalRedisResource r ? r.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""))
            .WithEnvironment("HEADY_REDIS_PASSWORD", redisPassword)
            .WithDataTierIdentity(mesh, "HEADY_REDIS_TLS_DIR", Path.Combine(tls, ResourceNames.Redis))
            .WithLocalEndpoint()
            .WithIconName("Memory");
        builder.AddLocalHealthCheck(redis, (sp, r, ct) => LocalHealthChecks.RedisAsync(r, sp.GetRequiredService<DataTierIdentities>().Current(r.Name), ct));

        var objectStore = builder.AddResource(new LocalObjectStoreResource(ResourceNames.ObjectStore, "node", root, FreePort(), objectStoreUser.Resource, objectStorePassword.Resource))
            .WithArgs(Path.Combine(root, "eng", "s3rver", "server.js"), "--address", "127.0.0.1", "--directory", Path.Combine(state, "objectstore"))
            .WithArgs(ctx => ctx.Args.Add("--port"))
            .WithArgs(ctx => ctx.Args.Add(((LocalObjectStoreResource)ctx.Resource).Port.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            // Keys through the environment, never on the command line (visible in ps).
            .WithEnvironment("HEADY_S3_ACCESS_KEY", objectStoreUser)
            .WithEnvironment("HEADY_S3_SECRET_KEY", objectStorePassword)
            .WithLocalEndpoint()
            .WithIconName("Storage");
        builder.AddLocalHealthCheck(objectStore, (sp, r, ct) =>
            LocalHealthChecks.ObjectStoreAsync(sp.GetRequiredService<IHttpClientFactory>().CreateClient(), r, ct));

        return new DataTierResources(
            DataTierMode.Local,
            state,
            postgres.AsResource(),
            builder.AddLocalDatabase(postgres, ResourceNames.SyncManagerDb, DatabaseNames.SyncManager),
            builder.AddLocalDatabase(postgres, ResourceNames.HeadyMeDb, DatabaseNames.HeadyMe),
            builder.AddLocalDatabase(postgres, ResourceNames.MonorepoDb, DatabaseNames.Monorepo),
            redis.AsConnectionString(),
            objectStore.AsConnectionString());
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddLocalDatabase(
        this IDistributedApplicationBuilder builder, IResourceBuilder<LocalPostgresResource> server, string name, string databaseName) =>
        builder.AddResource(new LocalPostgresDatabaseResource(name, databaseName, server.Resource))
            .ExcludeFromManifest()
            .AsConnectionString();

    /// <summary>Shows the fixed loopback port on the dashboard; the process binds it itself (no proxy in between).</summary>
    private static IResourceBuilder<T> WithLocalEndpoint<T>(this IResourceBuilder<T> resource) where T : ExecutableResource
    {
        var port = resource.Resource switch
        {
            LocalPostgresResource p => p.Port,
            LocalRedisResource r => r.Port,
            LocalObjectStoreResource o => o.Port,
            _ => throw new ArgumentOutOfRangeException(nameof(resource)),
        };
        return resource.WithEndpoint(port: port, targetPort: port, scheme: resource.Resource is LocalObjectStoreResource ? "http" : "tcp", name: "tcp", isProxied: false);
    }

    private static void AddLocalHealthCheck<T>(
        this IDistributedApplicationBuilder builder,
        IResourceBuilder<T> resource,
        Func<IServiceProvider, T, CancellationToken, Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult>> check)
        where T : ExecutableResource
    {
        var key = $"{resource.Resource.Name}-ready";
        builder.Services.AddHttpClient();
        builder.Services.AddHealthChecks().Add(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration(
            key,
            sp => new DelegateHealthCheck(ct => check(sp, resource.Resource, ct)),
            failureStatus: null,
            tags: null));
        resource.WithHealthCheck(key);
    }

    // IResourceBuilder<out T> is covariant: these only name the wider type for the record.
    private static IResourceBuilder<IResourceWithConnectionString> AsConnectionString<T>(this IResourceBuilder<T> resource)
        where T : IResourceWithConnectionString => (IResourceBuilder<IResourceWithConnectionString>)resource;

    private static IResourceBuilder<IResource> AsResource<T>(this IResourceBuilder<T> resource) where T : IResource =>
        (IResourceBuilder<IResource>)resource;

    public static string RepositoryRoot(IDistributedApplicationBuilder builder) =>
        Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));

    /// <summary>
    /// Outside the repository. As root, PostgreSQL runs as the postgres user, which cannot enter /root,
    /// so root's state lives under /var/tmp; other users keep theirs in $XDG_STATE_HOME (or ~/.local/state).
    /// </summary>
    public static string StateDirectory(IConfiguration configuration)
    {
        var configured = configuration[StateDirectoryKey];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured);
        }

        if (Environment.UserName == "root")
        {
            return "/var/tmp/headyclouds";
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        var baseDir = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state")
            : xdg;
        return Path.Combine(baseDir, "headyclouds");
    }

    /// <summary>A free loopback port, chosen at start so a port taken by something else never blocks the stack.</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class DelegateHealthCheck(Func<CancellationToken, Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult>> check)
        : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
    {
        public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
            Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
            check(cancellationToken);
    }
}
