using System.Security.Claims;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace SyncManager.Audit;

/// <summary>
/// Audits every refused authorization of an authenticated caller (event <c>authorization.denied</c>: who, which
/// endpoint, which requirement failed), then answers exactly as the default handler does.
/// </summary>
public sealed class AuditingAuthorizationResultHandler(IServiceScopeFactory scopes, ILogger<AuditingAuthorizationResultHandler> logger)
    : IAuthorizationMiddlewareResultHandler
{
    public const string DeniedEvent = "authorization.denied";

    private readonly AuthorizationMiddlewareResultHandler inner = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && context.User.Identity?.IsAuthenticated == true)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var audit = scope.ServiceProvider.GetRequiredService<AuditLog>();
                var failed = authorizeResult.AuthorizationFailure?.FailedRequirements.Select(r => r.ToString() ?? r.GetType().Name).ToArray() ?? [];
                await audit.AppendAsync(new AuditRecord(
                    ActorOf(context.User), AuditLog.SyncManagerService, DeniedEvent,
                    $"{context.Request.Method} {context.Request.Path}",
                    new { kind = context.User.FindFirstValue(HeadyClaims.Kind), failedRequirements = failed }), context.RequestAborted);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The refusal stands either way; a lost audit entry is logged loudly rather than turning a 403 into a 500.
                logger.LogError(e, "Could not audit a refused authorization of {Path}", context.Request.Path);
            }
        }

        await inner.HandleAsync(next, context, policy, authorizeResult);
    }

    /// <summary>"user:&lt;id&gt; (&lt;name&gt;)" or "service:&lt;name&gt;".</summary>
    public static string ActorOf(ClaimsPrincipal user)
    {
        var kind = user.FindFirstValue(HeadyClaims.Kind) ?? "unknown";
        var id = user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "?";
        var name = user.FindFirstValue(ClaimTypes.Name);
        return kind == "user" && name is not null && name != id ? $"user:{id} ({name})" : $"{kind}:{id}";
    }
}
