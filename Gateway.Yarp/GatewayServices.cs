using Gateway.Yarp.Edge;
using HeadyClouds.ServiceDefaults.Identity;

namespace Gateway.Yarp;

public static class GatewayServices
{
    public const string RedisResource = "redis";

    public static void AddGatewayServices(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<EdgeOptions>(builder.Configuration.GetSection(EdgeOptions.Section));
        builder.Services.AddSingleton(new IdentityKey(IdentityAssertion.KeyFromConfiguration(builder.Configuration["Identity:SigningKey"])));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddRedisClient(RedisResource);
        builder.Services.AddHttpClient<TokenIntrospector>((sp, http) =>
            http.BaseAddress = new Uri(builder.Configuration[$"{EdgeOptions.Section}:SyncManagerAddress"] ?? new EdgeOptions().SyncManagerAddress));

        builder.ConfigureEdgeTls();

        builder.Services.AddRequestTimeouts();
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver();
    }

    /// <summary>Runs before routing: HTTPS-only with security headers.</summary>
    public static WebApplication UseEdge(this WebApplication app)
    {
        app.UseMiddleware<HttpsOnlyMiddleware>();
        return app;
    }

    public static WebApplication MapGatewayRoutes(this WebApplication app)
    {
        // Per-route timeouts (route "Timeout" in configuration) need this between routing and the endpoints.
        app.UseRequestTimeouts();
        app.MapReverseProxy(proxy => proxy.UseMiddleware<EdgeAuthenticationMiddleware>());
        return app;
    }
}
