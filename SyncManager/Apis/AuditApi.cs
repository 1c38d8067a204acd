using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using SyncManager.Audit;
using SyncManager.Infrastructure;

namespace SyncManager.Apis;

/// <summary>What a service sends; the service itself is the authenticated caller, never a field.</summary>
public sealed record AuditIngestRequest(string? Actor, string? EventType, string? Subject, JsonElement? Details);

public sealed record AuditEntryResponse(long Seq, DateTimeOffset At, string Actor, string Service, string EventType, string Subject,
    JsonElement Details, string PrevHash, string Hash)
{
    public static AuditEntryResponse From(AuditEntry e) => new(e.Seq, e.At, e.Actor, e.Service, e.EventType, e.Subject,
        ParseDetails(e.Details), Convert.ToHexStringLower(e.PrevHash), Convert.ToHexStringLower(e.Hash));

    private static JsonElement ParseDetails(string details)
    {
        try
        {
            using var doc = JsonDocument.Parse(details);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            // A tampered row may hold anything; show it as a string rather than fail the query.
            return JsonSerializer.SerializeToElement(details);
        }
    }
}

public static partial class AuditApi
{
    public const int MaxDetailsBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        // Ingest: any authenticated service (each records its own security events); users never.
        app.MapGroup("/internal/v1/audit")
            .WithTags("Audit")
            .RequireAuthorization(p => p.RequireClaim(HeadyClaims.Kind, "service"))
            .MapPost("/", Ingest);

        var api = app.MapGroup("/api/v1/audit")
            .WithTags("Audit")
            .RequireAuthorization(HeadyPolicies.Admin);
        api.MapGet("/", Query);
        api.MapGet("/verify", Verify);
        return app;
    }

    [GeneratedRegex(@"^[a-z][a-z0-9._-]{1,99}\z")]
    public static partial Regex EventTypePattern();

    public static Validation Validate(AuditIngestRequest request)
    {
        var v = new Validation();
        v.Require(request.EventType is not null && EventTypePattern().IsMatch(request.EventType), "eventType",
            "eventType is required: 2-100 characters, lower-case letters, digits, '.', '_' or '-', starting with a letter (e.g. token.revoked).");
        v.Require(request.Actor is { Length: >= 1 and <= 200 } && Validation.IsCleanText(request.Actor), "actor",
            "actor is required: 1-200 characters without control characters.");
        v.Require(request.Subject is null || (request.Subject.Length <= 400 && Validation.IsCleanText(request.Subject)), "subject",
            "subject must be at most 400 characters without control characters.");
        v.Require(request.Details is null || request.Details.Value.ValueKind == JsonValueKind.Object, "details", "details must be a JSON object.");
        v.Require(request.Details is null || request.Details.Value.GetRawText().Length <= MaxDetailsBytes, "details", $"details must be at most {MaxDetailsBytes} bytes.");
        return v;
    }

    private static async Task<Results<Created<AuditEntryResponse>, ValidationProblem>> Ingest(
        AuditIngestRequest request, ClaimsPrincipal caller, AuditLog audit, CancellationToken ct)
    {
        var validation = Validate(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var service = caller.FindFirstValue(ClaimTypes.NameIdentifier)!;
        var entry = await audit.AppendAsync(new AuditRecord(request.Actor!, service, request.EventType!, request.Subject ?? "", request.Details), ct);
        return TypedResults.Created($"/api/v1/audit?afterSeq={entry.Seq - 1}&limit=1", AuditEntryResponse.From(entry));
    }

    /// <summary>Entries in sequence order, filtered; page with <c>afterSeq</c>.</summary>
    private static async Task<Ok<AuditEntryResponse[]>> Query(
        SyncManagerDbContext db, CancellationToken ct, string? eventType = null, string? actor = null, string? service = null,
        string? subject = null, DateTimeOffset? from = null, DateTimeOffset? to = null, long? afterSeq = null, int? limit = null)
    {
        var query = db.AuditLog.AsNoTracking();
        if (eventType is not null)
        {
            query = query.Where(e => e.EventType == eventType);
        }

        if (actor is not null)
        {
            query = query.Where(e => e.Actor == actor);
        }

        if (service is not null)
        {
            query = query.Where(e => e.Service == service);
        }

        if (subject is not null)
        {
            query = query.Where(e => e.Subject == subject);
        }

        if (from is not null)
        {
            query = query.Where(e => e.At >= from.Value.ToUniversalTime());
        }

        if (to is not null)
        {
            query = query.Where(e => e.At < to.Value.ToUniversalTime());
        }

        if (afterSeq is not null)
        {
            query = query.Where(e => e.Seq > afterSeq);
        }

        var entries = await query.OrderBy(e => e.Seq).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToListAsync(ct);
        return TypedResults.Ok(entries.Select(AuditEntryResponse.From).ToArray());
    }

    private static async Task<Ok<AuditVerification>> Verify(AuditLog audit, CancellationToken ct) =>
        TypedResults.Ok(await audit.VerifyAsync(ct));
}
