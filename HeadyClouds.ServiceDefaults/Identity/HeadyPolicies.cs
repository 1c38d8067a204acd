namespace HeadyClouds.ServiceDefaults.Identity;

public static class HeadyPolicies
{
    /// <summary>An end user, authenticated at the gateway by an API token.</summary>
    public const string User = "heady-user";

    /// <summary>A user with the admin role.</summary>
    public const string Admin = "heady-admin";

    /// <summary>Only the gateway service (e.g. token introspection).</summary>
    public const string GatewayService = "heady-service-gateway";

    public const string GatewayServiceName = "gateway";

    /// <summary>Only SyncManager (internal maintenance, key-rotation and job endpoints of the other services).</summary>
    public const string SyncManagerService = "heady-service-syncmanager";

    public const string SyncManagerServiceName = "syncmanager";
}

public static class HeadyAuthorizationExtensions
{
    /// <summary>Requires an end user whose API token carries <paramref name="scope"/>.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : Microsoft.AspNetCore.Builder.IEndpointConventionBuilder =>
        Microsoft.AspNetCore.Builder.AuthorizationEndpointConventionBuilderExtensions.RequireAuthorization(builder, policy => policy
            .RequireClaim(HeadyClaims.Kind, "user")
            .RequireClaim(HeadyClaims.Scope, scope));
}
