using HeadyMe.Sync.Files;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HeadyMe.Sync.Quota;

/// <summary>A user's quota usage and effective limit; <see cref="IsDefault"/> when no admin override applies.</summary>
public sealed record QuotaState(long UsedBytes, long LimitBytes, bool IsDefault)
{
    /// <summary>Non-null when writing <paramref name="delta"/> more bytes would pass the limit.</summary>
    public QuotaExceeded? Adding(long delta) => UsedBytes + delta > LimitBytes ? new QuotaExceeded(UsedBytes, LimitBytes, delta) : null;
}

/// <summary>
/// Per-user quota in logical bytes: the sizes of the current versions of live files in the workspaces the user owns
/// (old versions, trash and dedup savings are not counted). The limit is the user's override in user_quotas (set by
/// admins) or else <see cref="HeadyMeOptions.QuotaBytes"/>. Commits check it in their transaction; uploads refuse
/// early once the owner is at the limit.
/// </summary>
public sealed class QuotaService(NpgsqlDataSource db, IOptions<HeadyMeOptions> options)
{
    // Usage and override in one statement, so a check reads both in the same snapshot (and, in a commit, in the same
    // transaction that holds the workspace lock). The override is null when the default applies.
    private const string OwnerSql =
        """
        SELECT (SELECT coalesce(sum(used_bytes), 0)::bigint FROM workspaces WHERE owner_id = @o),
               (SELECT limit_bytes FROM user_quotas WHERE user_id = @o)
        """;

    public long DefaultLimitBytes => options.Value.QuotaBytes;

    public async Task<QuotaState> StateAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        return await OwnerStateAsync(connection, userId, DefaultLimitBytes, ct);
    }

    /// <summary>The owner's state inside the caller's transaction (commits and tree operations).</summary>
    internal static async Task<QuotaState> OwnerStateAsync(NpgsqlConnection connection, Guid ownerId, long defaultLimit, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(OwnerSql, connection);
        command.Parameters.AddWithValue("o", ownerId);
        return await ReadAsync(command, defaultLimit, ct) ?? new QuotaState(0, defaultLimit, true);
    }

    /// <summary>Non-null when the workspace's owner has no quota left at all.</summary>
    public async Task<QuotaExceeded?> WorkspaceOwnerFullAsync(Guid workspaceId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT (SELECT coalesce(sum(o.used_bytes), 0)::bigint FROM workspaces o WHERE o.owner_id = w.owner_id),
                   (SELECT q.limit_bytes FROM user_quotas q WHERE q.user_id = w.owner_id)
            FROM workspaces w WHERE w.id = @w
            """);
        command.Parameters.AddWithValue("w", workspaceId);
        return await ReadAsync(command, DefaultLimitBytes, ct) is { } state && state.UsedBytes >= state.LimitBytes
            ? new QuotaExceeded(state.UsedBytes, state.LimitBytes, 0)
            : null;
    }

    private static async Task<QuotaState?> ReadAsync(NpgsqlCommand command, long defaultLimit, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        var used = reader.GetInt64(0);
        return reader.IsDBNull(1) ? new QuotaState(used, defaultLimit, true) : new QuotaState(used, reader.GetInt64(1), false);
    }
}
