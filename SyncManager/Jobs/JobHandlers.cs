using System.Text.Json;

namespace SyncManager.Jobs;

/// <summary>What a handler knows about the run it executes.</summary>
public sealed record JobContext(Guid JobId, Guid DefinitionId, string Type, JsonElement Payload, int Attempt, string Worker);

/// <summary>Executes one job type. Must honour the token: it fires on cancellation, lost lease and shutdown.</summary>
public interface IJobHandler
{
    string Type { get; }

    /// <summary>Returns a short summary of what was done (kept as the run's result).</summary>
    Task<string?> RunAsync(JobContext context, CancellationToken ct);
}

/// <summary>A failure that retrying cannot fix (bad payload, unknown repository, type not available): straight to dead letter.</summary>
public class PermanentJobException(string message, Exception? inner = null) : Exception(message, inner);

public static class JobTypes
{
    public const string RepositorySync = "repository-sync";
    public const string WorkspaceMaintenance = "workspace-maintenance";
    public const string KeyRotation = "key-rotation";
    public const string CertificateHealth = "certificate-health";
    public const string AuditVerify = "audit-verify";
    public const string Backup = "backup";
}

/// <summary>Handlers by type; the API refuses definitions of a type nobody handles.</summary>
public sealed class JobHandlerRegistry(IEnumerable<IJobHandler> handlers)
{
    private readonly Dictionary<string, IJobHandler> byType = handlers.ToDictionary(h => h.Type, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Types => byType.Keys;

    public IJobHandler? Find(string type) => byType.GetValueOrDefault(type);
}
