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

        // Server banners say which software to attack; the edge gives none.
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o => o.AddServerHeader = false);

        builder.Services.AddRequestTimeouts();
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver();
    }

    public static WebApplication MapGatewayRoutes(this WebApplication app)
    {
        // Per-route timeouts (route "Timeout" in configuration) need this between routing and the endpoints.
        app.UseRequestTimeouts();
        app.MapReverseProxy(proxy => proxy.UseMiddleware<EdgeAuthenticationMiddleware>());
        return app;
    }
}
