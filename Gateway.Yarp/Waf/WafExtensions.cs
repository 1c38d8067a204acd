using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Yarp.Waf;

public static class WafExtensions
{
    /// <summary>Binds <see cref="WafOptions"/> to the "Waf" section (validated at start) and registers the engine and metrics.</summary>
    public static IHostApplicationBuilder AddWaf(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WafOptions>()
            .Bind(builder.Configuration.GetSection(WafOptions.Section))
            .Validate(o => o.InboundThreshold >= 1, "Waf:InboundThreshold must be at least 1.")
            .Validate(
                o => o.MaxHeaders > 0 && o.MaxHeaderNameLength > 0 && o.MaxHeaderValueLength > 0 && o.MaxArguments > 0
                     && o.MaxArgumentNameLength > 0 && o.MaxArgumentValueLength > 0 && o.MaxQueryStringLength > 0,
                "Waf limits (MaxHeaders, MaxHeaderNameLength, MaxHeaderValueLength, MaxArguments, MaxArgumentNameLength, MaxArgumentValueLength, MaxQueryStringLength) must be positive.")
            .Validate(
                o => o.DisabledRuleIds.All(id => WafRules.Find(id) is not null),
                "Waf:DisabledRuleIds names a rule id that does not exist (see Gateway.Yarp/Waf/WafRules.cs).")
            .ValidateOnStart();
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<WafMetrics>();
        builder.Services.TryAddSingleton<WafEngineProvider>();
        return builder;
    }

    /// <summary>
    /// Adds the WAF middleware. Place it before the reverse proxy (and before anything that acts on the request), after
    /// exception handling; it reads no body.
    /// </summary>
    public static IApplicationBuilder UseWaf(this IApplicationBuilder app)
    {
        if (app.ApplicationServices.GetService<WafEngineProvider>() is null)
        {
            throw new InvalidOperationException("The WAF is not registered: call builder.AddWaf() before app.UseWaf().");
        }

        return app.UseMiddleware<WafMiddleware>();
    }
}
