using System.Text.Json;

namespace SyncManager.Jobs;

/// <summary>Repository sync: payload <c>{"repositoryId": "…"}</c> → Monorepo.Sync runs one sync and answers with the run.</summary>
public sealed class RepositorySyncHandler([FromKeyedServices(InternalServiceClient.MonorepoClient)] InternalServiceClient monorepo) : IJobHandler
{
    public string Type => JobTypes.RepositorySync;

    public static bool TryReadRepositoryId(JsonElement payload, out Guid id)
    {
        id = Guid.Empty;
        return payload.ValueKind == JsonValueKind.Object
            && payload.TryGetProperty("repositoryId", out var value)
            && value.ValueKind == JsonValueKind.String
            && Guid.TryParse(value.GetString(), out id);
    }

    public async Task<string?> RunAsync(JobContext context, CancellationToken ct)
    {
        if (!TryReadRepositoryId(context.Payload, out var id))
        {
            throw new PermanentJobException("The payload needs \"repositoryId\": the id of the repository to sync.");
        }

        var run = await monorepo.PostAsync($"/internal/v1/repositories/{id}/sync", null, ct);
        var outcome = run.TryGetProperty("outcome", out var o) ? o.GetString() : null;
        var error = run.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        if (outcome is not ("succeeded" or "partial"))
        {
            throw new InvalidOperationException($"Sync of repository {id} ended '{outcome}': {error}");
        }

        return $"repository {id}: {outcome}, {run.GetProperty("refsUpdated").GetInt32()} refs updated, {run.GetProperty("refsRefused").GetInt32()} refused";
    }
}

/// <summary>Workspace retention and garbage collection in HeadyMe.Sync; the payload is passed on as the request body.</summary>
public sealed class WorkspaceMaintenanceHandler([FromKeyedServices(InternalServiceClient.HeadyMeClient)] InternalServiceClient headyMe) : IJobHandler
{
    public const string Path = "/internal/v1/maintenance";

    public string Type => JobTypes.WorkspaceMaintenance;

    public async Task<string?> RunAsync(JobContext context, CancellationToken ct) =>
        (await headyMe.PostAsync(Path, context.Payload, ct)).ToString();
}

/// <summary>Rotates HeadyMe.Sync's key-encryption key and re-wraps the data keys; the rotation is audited (key.rotated).</summary>
public sealed class KeyRotationHandler(
    [FromKeyedServices(InternalServiceClient.HeadyMeClient)] InternalServiceClient headyMe, IServiceScopeFactory scopes) : IJobHandler
{
    public const string Path = "/internal/v1/keys/rotate";

    public string Type => JobTypes.KeyRotation;

    public async Task<string?> RunAsync(JobContext context, CancellationToken ct)
    {
        var answer = await headyMe.PostAsync(Path, context.Payload, ct);
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<Audit.AuditLog>().AppendAsync(new Audit.AuditRecord(
            $"job:{context.JobId}", Audit.AuditLog.SyncManagerService, "key.rotated", "headyme-sync",
            new { attempt = context.Attempt, worker = context.Worker, answer = answer.ValueKind == JsonValueKind.Undefined ? (object?)null : answer }), ct);
        return answer.ToString();
    }
}

/// <summary>Backups belong to the backup work (issue 9), which does not exist yet: refused, never faked.</summary>
/// <summary>
/// The platform backup (HeadyClouds.Backup, docs/backup.md): dumps, objects and repository bundles, encrypted, then
/// retention. Resolved at run time so that a SyncManager without backup configuration still starts; such a run goes
/// straight to the dead letters naming what is missing (retrying cannot fix configuration).
/// </summary>
public sealed class BackupHandler(IServiceProvider services) : IJobHandler
{
    public string Type => JobTypes.Backup;

    public async Task<string?> RunAsync(JobContext context, CancellationToken ct)
    {
        HeadyClouds.Backup.BackupService backup;
        try
        {
            backup = services.GetRequiredService<HeadyClouds.Backup.BackupService>();
            backup.Plan();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new PermanentJobException($"Backup is not configured: {e.Message}", e);
        }

        return (await backup.RunAsync(ct)).ToString();
    }
}

/// <summary>Verifies the audit chain (sets the heady.audit.chain_valid gauge) and fails naming the first broken entry.</summary>
public sealed class AuditVerifyHandler(IServiceScopeFactory scopes) : IJobHandler
{
    public string Type => JobTypes.AuditVerify;

    public async Task<string?> RunAsync(JobContext context, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<Audit.AuditLog>().VerifyAsync(ct);
        return result.Valid
            ? $"audit chain valid: {result.Checked} entries"
            : throw new InvalidOperationException($"Audit chain broken at entry {result.FirstBrokenSeq}: {result.Reason}");
    }
}
