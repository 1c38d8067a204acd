using System.Net.Http.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeadyClouds.ServiceDefaults.Audit;

/// <summary>
/// A security-relevant event for SyncManager's hash-chained audit log. The reporting service is not a field: SyncManager
/// takes it from the caller's signed identity. <paramref name="EventType"/>: lower-case dotted, e.g. <c>membership.changed</c>,
/// <c>key.rotated</c>, <c>ref.forced</c>, <c>waf.blocked</c>, <c>auth.failed</c>. <paramref name="Details"/>: a JSON object
/// (never secrets: no tokens, keys or passwords).
/// </summary>
public sealed record AuditEvent(string Actor, string EventType, string? Subject = null, object? Details = null);

public interface IAuditClient
{
    /// <summary>Sends the event; false (and an error log) when SyncManager did not take it. Never throws for transport errors.</summary>
    Task<bool> RecordAsync(AuditEvent auditEvent, CancellationToken ct = default);
}

/// <summary>Posts events to SyncManager's <c>/internal/v1/audit</c> as this service (signed X-Heady-Identity).</summary>
public sealed class AuditClient(HttpClient http, AuditClientIdentity identity, TimeProvider time, ILogger<AuditClient> logger) : IAuditClient
{
    public const string IngestPath = "/internal/v1/audit";

    public async Task<bool> RecordAsync(AuditEvent auditEvent, CancellationToken ct = default)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, IngestPath)
            {
                Content = JsonContent.Create(new { actor = auditEvent.Actor, eventType = auditEvent.EventType, subject = auditEvent.Subject, details = auditEvent.Details }),
            };
            if (!identity.OverMesh)
            {
                // Over the mesh the client certificate says who we are; SyncManager ignores assertions naming services.
                request.Headers.Add(HeadyHeaders.Identity, IdentityAssertion.Create(
                    CallerIdentity.ForService(identity.ServiceName), identity.Key, time.GetUtcNow(), TimeSpan.FromSeconds(60)));
            }

            using var response = await http.SendAsync(request, ct);
            if (response.IsSuccessStatusCode)
            {
                return true;
            }

            logger.LogError("Audit event {EventType} was refused by SyncManager: {Status} {Body}", auditEvent.EventType,
                (int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            // A lost security event must be visible: logged at error level (alertable), never silently dropped.
            logger.LogError(e, "Audit event {EventType} could not be sent to SyncManager", auditEvent.EventType);
            return false;
        }
    }
}

public sealed record AuditClientIdentity(string ServiceName, byte[] Key, bool OverMesh = false);

public static class AuditClientExtensions
{
    /// <summary>
    /// Registers <see cref="IAuditClient"/> for service <paramref name="serviceName"/> (its resource name, e.g.
    /// <c>headyme-sync</c>). SyncManager is found by service discovery (<c>Audit:SyncManagerAddress</c>, default
    /// <c>https+http://syncmanager</c>): the AppHost must give the service <c>.WithReference(syncManager)</c>.
    /// </summary>
    public static TBuilder AddHeadyAuditClient<TBuilder>(this TBuilder builder, string serviceName) where TBuilder : IHostApplicationBuilder
    {
        var key = IdentityAssertion.KeyFromConfiguration(builder.Configuration["Identity:SigningKey"]);
        var address = builder.Configuration["Audit:SyncManagerAddress"] ?? "https+http://syncmanager";
        builder.Services.TryAddSingleton(TimeProvider.System);
        var overMesh = Mesh.MeshMode.IsEnabled(builder.Configuration);
        builder.Services.AddSingleton(new AuditClientIdentity(serviceName, key, overMesh));
        var http = builder.Services.AddHttpClient<IAuditClient, AuditClient>(http => http.BaseAddress = new Uri(address));
        if (overMesh)
        {
            http.UseMeshTransport("syncmanager");
        }

        builder.Services.TryAddSingleton<AuditQueue>();
        builder.Services.TryAddSingleton<IAuditQueue>(sp => sp.GetRequiredService<AuditQueue>());
        builder.Services.AddHostedService<AuditQueueSender>();
        return builder;
    }
}
