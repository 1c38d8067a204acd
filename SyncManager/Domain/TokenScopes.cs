namespace SyncManager.Domain;

public static class TokenScopes
{
    public const string WorkspacesRead = "workspaces:read";
    public const string WorkspacesWrite = "workspaces:write";
    public const string ReposRead = "repos:read";
    public const string ReposAdmin = "repos:admin";
    public const string TokensManage = "tokens:manage";

    public static readonly IReadOnlyList<string> All = [WorkspacesRead, WorkspacesWrite, ReposRead, ReposAdmin, TokensManage];
}
