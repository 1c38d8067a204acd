using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace HeadyClouds.Data.ObjectStorage;

public static class ObjectStoreExtensions
{
    /// <summary>Registers <see cref="IObjectStore"/> from <c>ConnectionStrings:{name}</c> and a readiness check on <paramref name="bucket"/>.</summary>
    public static IHostApplicationBuilder AddObjectStore(this IHostApplicationBuilder builder, string name, string bucket)
    {
        var settings = ObjectStoreSettings.Parse(builder.Configuration.GetConnectionString(name));
        builder.Services.AddSingleton(MinioObjectStore.CreateClient(settings));
        builder.Services.AddSingleton<IObjectStore, MinioObjectStore>();
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"{name}-{bucket}",
            sp => new ObjectStoreHealthCheck(sp.GetRequiredService<IObjectStore>(), bucket),
            failureStatus: null,
            tags: ["ready"]));
        return builder;
    }
}

/// <summary>Ready when the bucket the service writes to answers.</summary>
internal sealed class ObjectStoreHealthCheck(IObjectStore store, string bucket) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await store.BucketExistsAsync(bucket, cancellationToken)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"bucket '{bucket}' does not exist");
        }
        // Minio 7's AuthorizationException (wrong keys) does not derive from MinioException.
        catch (Exception e) when (e is Minio.Exceptions.MinioException or Minio.Exceptions.AuthorizationException or HttpRequestException)
        {
            return HealthCheckResult.Unhealthy(e.Message, e);
        }
    }
}
