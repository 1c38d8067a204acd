using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Http;

namespace HeadyClouds.ServiceDefaults.Mesh;

public static class MeshServiceExtensions
{
    /// <summary>
    /// Makes the service a mesh workload: its certificate from the internal CA (section <c>Mesh</c>), Kestrel on TLS 1.3
    /// requiring and validating client certificates on every HTTPS endpoint, mTLS authentication
    /// (<see cref="MeshAuthentication.Scheme"/>) and, with <c>Mesh:ProbePort</c>, a plain-HTTP port that serves only the
    /// health probes. Internal HttpClients opt in with <see cref="UseMeshTransport"/>.
    /// </summary>
    public static TBuilder AddMeshIdentity<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var section = builder.Configuration.GetSection(MeshOptions.Section);
        var options = section.Get<MeshOptions>() ?? new MeshOptions();
        builder.Services.AddOptions<MeshOptions>().Bind(section);
        builder.Services.AddSingleton<WorkloadIdentity>();
        builder.Services.AddSingleton<IMeshCredentials>(sp => sp.GetRequiredService<WorkloadIdentity>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkloadIdentity>());
        builder.Services.AddMeshRedisTls();
        builder.Services.AddMeshKestrel(options.ProbePort, requireClientCertificate: true);
        builder.Services.AddMeshAuthentication(options.TrustDomain);
        return builder;
    }

    /// <summary>
    /// Only the workload certificate, for outgoing mesh calls, leaving Kestrel alone: the gateway's public HTTPS endpoint
    /// serves the edge certificate to clients that have none.
    /// </summary>
    public static TBuilder AddMeshClientIdentity<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<MeshOptions>().Bind(builder.Configuration.GetSection(MeshOptions.Section));
        builder.Services.AddSingleton<WorkloadIdentity>();
        builder.Services.AddSingleton<IMeshCredentials>(sp => sp.GetRequiredService<WorkloadIdentity>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkloadIdentity>());
        builder.Services.AddMeshRedisTls();
        return builder;
    }

    /// <summary>
    /// This client calls a mesh service: it presents the workload certificate and accepts only a server certified by the
    /// internal CA (and, when given, only <paramref name="expectedService"/>). Opt-in per client rather than for every
    /// HttpClient: the OTLP exporter, the object store and external endpoints must keep the system trust store.
    /// </summary>
    public static IHttpClientBuilder UseMeshTransport(this IHttpClientBuilder http, string? expectedService = null) =>
        http.ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler().ConfigureMeshClient(
            sp.GetRequiredService<IMeshCredentials>(),
            expectedService,
            sp.GetService<IOptions<MeshOptions>>()?.Value.PooledConnectionLifetime ?? new MeshOptions().PooledConnectionLifetime));

    /// <summary>
    /// Kestrel's HTTPS endpoints on mesh TLS, and the probe port (if any) limited to the probes. The probe port must be
    /// one of the service's http URLs (Aspire: an http endpoint whose port is passed as <c>Mesh__ProbePort</c>); binding it
    /// here with Listen() would make Kestrel ignore the configured URLs.
    /// </summary>
    public static IServiceCollection AddMeshKestrel(this IServiceCollection services, int probePort, bool requireClientCertificate)
    {
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>>(sp => new ConfigureOptions<KestrelServerOptions>(kestrel =>
        {
            var credentials = sp.GetRequiredService<IMeshCredentials>();
            kestrel.ConfigureHttpsDefaults(https => https.UseMeshTls(credentials, requireClientCertificate));
        }));
        if (probePort > 0)
        {
            services.AddSingleton<IStartupFilter>(new ProbePortFilter(probePort));
        }

        return services;
    }

    /// <summary>
    /// First in the pipeline: on the probe port only GET/HEAD of the health paths pass; everything else is 404, so the
    /// port without client certificates exposes nothing but the status word.
    /// </summary>
    private sealed class ProbePortFilter(int probePort) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Connection.LocalPort == probePort && !IsProbe(context.Request))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return nextMiddleware(context);
            });
            next(app);
        };

        private static bool IsProbe(HttpRequest request) =>
            (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            && (request.Path.Equals(Extensions.HealthEndpointPath, StringComparison.Ordinal)
                || request.Path.Equals(Extensions.AlivenessEndpointPath, StringComparison.Ordinal));
    }
}
