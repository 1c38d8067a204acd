using System.Threading.RateLimiting;
using Gateway.Yarp.Edge;
using Gateway.Yarp.RateLimiting;
using Gateway.Yarp.Waf;
using HeadyClouds.ServiceDefaults.Audit;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.ServiceDefaults.Mesh;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Yarp;

public static class GatewayServices
{
    public const string RedisResource = "redis";

    public static void AddGatewayServices(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<EdgeOptions>(builder.Configuration.GetSection(EdgeOptions.Section));
        var overMesh = MeshMode.IsEnabled(builder.Configuration);
        if (overMesh)
        {
            // Outgoing calls only: the public HTTPS endpoint keeps the edge certificate and needs no client certificate.
            builder.AddMeshClientIdentity();
            builder.Services.AddSingleton<IForwarderHttpClientFactory, MeshForwarderHttpClientFactory>();
        }

        builder.Services.AddSingleton(new IdentityKey(IdentityAssertion.KeyFromConfiguration(builder.Configuration["Identity:SigningKey"]), overMesh));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddRedisClient(RedisResource);
        builder.Services.AddSingleton<LocalIntrospectionCache>();
        var introspection = builder.Services.AddHttpClient<TokenIntrospector>((sp, http) =>
            http.BaseAddress = new Uri(builder.Configuration[$"{EdgeOptions.Section}:SyncManagerAddress"] ?? new EdgeOptions().SyncManagerAddress));
        if (overMesh)
        {
            introspection.UseMeshTransport(HeadyPolicies.SyncManagerServiceName);
        }

        builder.ConfigureEdgeTls();
        builder.AddWaf();
        builder.AddHeadyAuditClient(HeadyPolicies.GatewayServiceName);
        builder.Services.Configure<SecurityAuditOptions>(builder.Configuration.GetSection(SecurityAuditOptions.Section));
        builder.Services.AddSingleton<SecurityAudit>();
        builder.Services.AddSingleton<IWafBlockListener>(sp => sp.GetRequiredService<SecurityAudit>());

        builder.Services.Configure<EdgeRateLimitOptions>(builder.Configuration.GetSection(EdgeRateLimitOptions.Section));
        builder.Services.AddSingleton<FailedAuthenticationThrottle>();
        builder.Services.AddRateLimiter(options =>
        {
            var limits = builder.Configuration.GetSection(EdgeRateLimitOptions.Section).Get<EdgeRateLimitOptions>() ?? new EdgeRateLimitOptions();
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = EdgeRateLimitPolicy.OnRejectedAsync;
            // Per replica by nature: it protects this process, whatever the others carry.
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ =>
                RateLimitPartition.GetConcurrencyLimiter("global", _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = limits.GlobalConcurrency,
                    QueueLimit = limits.GlobalQueueLimit,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                }));
            options.AddPolicy<string, EdgeRateLimitPolicy>(EdgeRateLimitPolicy.Name);
        });
        builder.Services.AddRequestTimeouts();
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver();
    }

    /// <summary>Runs before routing: HTTPS-only with security headers.</summary>
    public static WebApplication UseEdge(this WebApplication app)
    {
        app.UseMiddleware<HttpsOnlyMiddleware>();
        app.UseMiddleware<AccessLogMiddleware>();
        app.UseWaf();
        return app;
    }

    public static WebApplication MapGatewayRoutes(this WebApplication app)
    {
        // Per-route timeouts (route "Timeout" in configuration) need this between routing and the endpoints.
        app.UseRequestTimeouts();
        app.UseRateLimiter();
        app.MapReverseProxy(proxy => proxy.UseMiddleware<EdgeAuthenticationMiddleware>());
        return app;
    }
}
