using System.Security.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// Redis over mesh TLS (issue 3, item 8): when the connection string asks for TLS (<c>ssl=true</c>), the client
/// presents the workload certificate current at each (re)connect — so a renewed certificate is used from the next
/// connection on — and accepts only a server certified by the internal CA as <see cref="MeshOptions.RedisService"/>.
/// Without <c>ssl=true</c> (containers mode, in-process tests) nothing changes.
/// </summary>
public static class MeshRedis
{
    public static IServiceCollection AddMeshRedisTls(this IServiceCollection services)
    {
        // Options.DefaultName: the one IConnectionMultiplexer that AddRedisClient registers reads IOptions<ConfigurationOptions>.
        services.AddOptions<ConfigurationOptions>()
            .Configure<IMeshCredentials, IOptions<MeshOptions>>((redis, credentials, mesh) => Apply(redis, credentials, mesh.Value.RedisService));
        return services;
    }

    /// <summary>The same settings for a <see cref="ConfigurationOptions"/> made by hand (tests, tools).</summary>
    public static ConfigurationOptions Apply(ConfigurationOptions redis, IMeshCredentials credentials, string expectedService)
    {
        redis.SslProtocols = SslProtocols.Tls13;
        // Read at every handshake, never captured: after a renewal, the next reconnect presents the new certificate.
        redis.CertificateSelection += (_, _, _, _, _) => credentials.Current!;
        redis.CertificateValidation += (_, certificate, _, errors) =>
            MeshCertificateValidator.ValidateServer(certificate, errors, credentials.TrustBundle, expectedService, out _);
        return redis;
    }
}
