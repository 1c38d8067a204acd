using HeadyClouds.ServiceDefaults;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Application;
using Monorepo.Sync.Domain;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync.Apis;

public sealed record WebhookAccepted(Guid RepositoryId, string Status, DateTimeOffset? NotBefore);

public static class WebhooksApi
{
    public const int MaxBodyBytes = 1024 * 1024;

    public static string PathFor(Guid repositoryId) => $"/api/v1/hooks/repositories/{repositoryId}";

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        // Source hosts carry no API token: the HMAC signature over the body is the authentication.
        app.MapPost("/api/v1/hooks/repositories/{id:guid}", Receive)
            .WithTags("Webhooks")
            .AllowAnonymous();
        return app;
    }

    private static async Task<Results<Accepted<WebhookAccepted>, ProblemHttpResult>> Receive(
        Guid id, HttpRequest request, MonorepoDbContext db, CredentialProtector protector, SyncQueue queue,
        TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
    {
        var body = await ReadBodyAsync(request, ct);
        if (body is null)
        {
            return TypedResults.Problem($"Webhook bodies are limited to {MaxBodyBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large");
        }

        var repository = await db.Repositories.AsNoTracking().SingleOrDefaultAsync(r => r.Id == id, ct);
        // An unknown repository and a bad signature answer alike, so ids cannot be probed.
        var style = "none";
        if (repository is null
            || !TryOpenSecret(protector, repository, out var secret)
            || !WebhookSignature.Verify(request.Headers, body, secret, out style))
        {
            loggers.CreateLogger(typeof(WebhooksApi)).LogWarning("Rejected webhook for repository {RepositoryId}: missing or invalid signature", id);
            return TypedResults.Problem("The webhook signature is missing or invalid.", statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");
        }

        if (repository.NextAttemptAfter is { } notBefore && notBefore > time.GetUtcNow())
        {
            // Backing off after failures: the webhook is acknowledged but does not force a run into a failing loop.
            return TypedResults.Accepted((string?)null, new WebhookAccepted(id, "deferred", notBefore));
        }

        queue.Enqueue(id, SyncTriggers.Webhook + ":" + style);
        return TypedResults.Accepted((string?)null, new WebhookAccepted(id, "queued", null));
    }

    private static bool TryOpenSecret(CredentialProtector protector, Repository repository, out string secret)
    {
        try
        {
            secret = protector.OpenSecret(repository.WebhookSecret, CredentialProtector.WebhookContext(repository.Id));
            return true;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // A repository registered before webhooks existed, or a key no longer in the ring: no valid signature exists.
            secret = "";
            return false;
        }
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
