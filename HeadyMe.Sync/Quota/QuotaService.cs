using HeadyMe.Sync.Files;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HeadyMe.Sync.Quota;

/// <summary>
/// Per-user quota in logical bytes: the sizes of the current versions of live files in the workspaces the user owns
/// (old versions, trash and dedup savings are not counted). Commits check it in their transaction; uploads refuse
/// early once the owner is at the limit.
/// </summary>
public sealed class QuotaService(NpgsqlDataSource db, IOptions<HeadyMeOptions> options)
{
    public long LimitBytes => options.Value.QuotaBytes;

    public async Task<long> UsedAsync(Guid userId, CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT coalesce(sum(used_bytes), 0)::bigint FROM workspaces WHERE owner_id = @o");
        command.Parameters.AddWithValue("o", userId);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Non-null when the workspace's owner has no quota left at all.</summary>
    public async Task<QuotaExceeded?> WorkspaceOwnerFullAsync(Guid workspaceId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "SELECT coalesce(sum(o.used_bytes), 0)::bigint FROM workspaces w JOIN workspaces o ON o.owner_id = w.owner_id WHERE w.id = @w");
        command.Parameters.AddWithValue("w", workspaceId);
        var used = (long)(await command.ExecuteScalarAsync(ct))!;
        return used >= LimitBytes ? new QuotaExceeded(used, LimitBytes, 0) : null;
    }
}
