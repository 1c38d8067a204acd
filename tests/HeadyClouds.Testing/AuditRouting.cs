using HeadyClouds.ServiceDefaults.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace HeadyClouds.Testing;

public static class AuditRouting
{
    /// <summary>Sends the service's audit events to an in-process SyncManager (its test server handler).</summary>
    public static void RouteAuditTo(this IServiceCollection services, Func<HttpMessageHandler> syncManagerHandler) =>
        services.AddHttpClient<IAuditClient, AuditClient>().ConfigurePrimaryHttpMessageHandler(syncManagerHandler);
}
