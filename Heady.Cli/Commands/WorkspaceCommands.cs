using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Heady.Cli.Commands;

public sealed class WorkspaceCreateSettings : GlobalSettings
{
    [CommandArgument(0, "<NAME>")]
    public string Name { get; set; } = "";
}

public sealed class WorkspaceCreateCommand : AsyncCommand<WorkspaceCreateSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, WorkspaceCreateSettings settings, CancellationToken cancellationToken)
    {
        var workspace = await Cli.Api().CreateWorkspaceAsync(settings.Name, cancellationToken);
        if (settings.Json)
        {
            Cli.WriteJson(workspace);
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"Created workspace [bold]{workspace.Name}[/] ({workspace.Id}). Sync a folder with it: heady sync <folder> --workspace \"{workspace.Name}\"");
        }

        return ExitCodes.Ok;
    }
}

public sealed class WorkspaceListCommand : AsyncCommand<GlobalSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, GlobalSettings settings, CancellationToken cancellationToken)
    {
        var workspaces = await Cli.Api().ListWorkspacesAsync(cancellationToken);
        if (settings.Json)
        {
            Cli.WriteJson(workspaces);
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("Name", "Role", "Id", "Created");
        foreach (var w in workspaces)
        {
            table.AddRow(Markup.Escape(w.Name), w.Role, w.Id.ToString(), w.CreatedAt.ToString("yyyy-MM-dd HH:mm"));
        }

        AnsiConsole.Write(table);
        return ExitCodes.Ok;
    }
}

public sealed class WorkspaceShareSettings : GlobalSettings
{
    [CommandArgument(0, "<WORKSPACE>")]
    [Description("Workspace name or id.")]
    public string Workspace { get; set; } = "";

    [CommandArgument(1, "<USER>")]
    [Description("The user's id; a username works for admins (who may list users).")]
    public string User { get; set; } = "";

    [CommandOption("-r|--role <ROLE>")]
    [Description("viewer, editor (default) or owner.")]
    public string Role { get; set; } = "editor";

    public override ValidationResult Validate() =>
        Role is "viewer" or "editor" or "owner" ? ValidationResult.Success() : ValidationResult.Error("--role must be viewer, editor or owner.");
}

public sealed class WorkspaceShareCommand : AsyncCommand<WorkspaceShareSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, WorkspaceShareSettings settings, CancellationToken cancellationToken)
    {
        var api = Cli.Api();
        var workspace = await api.ResolveWorkspaceAsync(settings.Workspace, cancellationToken);
        var userId = await api.ResolveUserIdAsync(settings.User, cancellationToken);
        var member = await api.SetMemberAsync(workspace.Id, userId, settings.Role, cancellationToken);
        if (settings.Json)
        {
            Cli.WriteJson(new { workspace = workspace.Name, workspaceId = workspace.Id, member.UserId, member.Role });
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"Shared [bold]{workspace.Name}[/] with {member.UserId} as {member.Role}.");
        }

        return ExitCodes.Ok;
    }
}
