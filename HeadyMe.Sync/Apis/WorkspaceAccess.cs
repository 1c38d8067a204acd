using System.Security.Claims;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyMe.Sync.Domain;
using Npgsql;

namespace HeadyMe.Sync.Apis;

/// <summary>Membership checks of every workspace route: non-members get 404 (the workspace's existence stays secret), members below the role 403.</summary>
public sealed class WorkspaceAccess(NpgsqlDataSource db)
{
    public static int Rank(string role) => role switch
    {
        WorkspaceRoles.Owner => 3,
        WorkspaceRoles.Editor => 2,
        WorkspaceRoles.Viewer => 1,
        _ => 0,
    };

    public async Task<string?> RoleAsync(Guid workspaceId, Guid userId, CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT role FROM workspace_members WHERE workspace_id = @w AND user_id = @u");
        command.Parameters.AddWithValue("w", workspaceId);
        command.Parameters.AddWithValue("u", userId);
        return await command.ExecuteScalarAsync(ct) as string;
    }

    /// <summary>Null when the caller has at least <paramref name="role"/>; otherwise the problem to answer.</summary>
    public async Task<IResult?> RequireAsync(Guid workspaceId, ClaimsPrincipal caller, string role, CancellationToken ct)
    {
        var actual = await RoleAsync(workspaceId, caller.UserId(), ct);
        if (actual is null)
        {
            return Problems.NotFound($"Workspace {workspaceId} was not found.");
        }

        return Rank(actual) >= Rank(role)
            ? null
            : Problems.Forbidden(role == WorkspaceRoles.Owner
                ? $"Only owners may do this; you are {Article(actual)} {actual} of workspace {workspaceId}."
                : $"Viewers cannot change workspace {workspaceId}; editors and owners can.");
    }

    private static string Article(string role) => role == WorkspaceRoles.Owner ? "an" : role.StartsWith('e') ? "an" : "a";
}
