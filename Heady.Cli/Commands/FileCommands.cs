using System.ComponentModel;
using Heady.Cli.Config;
using Heady.Cli.Sync;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Heady.Cli.Commands;

public sealed class FileSettings : GlobalSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("A file inside a synced folder (it may be deleted locally).")]
    public string File { get; set; } = "";
}

public sealed class RestoreSettings : GlobalSettings
{
    [CommandArgument(0, "<FILE>")]
    public string File { get; set; } = "";

    [CommandOption("-v|--version <VERSION>")]
    [Description("The version id, or its number in `heady versions` (1 = newest).")]
    public string Version { get; set; } = "";
}

internal static class FileTarget
{
    /// <summary>Folder root, workspace id and workspace path of a local file argument.</summary>
    public static (string Root, Guid Workspace, string Path) Resolve(string file)
    {
        var full = Path.GetFullPath(file);
        var root = Cli.FindRoot(full);
        using var state = LocalState.Open(root);
        var workspace = state.WorkspaceId ?? throw new CliException(ExitCodes.Usage, $"{root} is not bound to a workspace: run `heady sync {root} --workspace <name>`.");
        return (root, workspace, LocalPaths.ToWorkspacePath(root, full));
    }
}

public sealed class VersionsCommand : AsyncCommand<FileSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, FileSettings settings, CancellationToken cancellationToken)
    {
        var (_, workspace, path) = FileTarget.Resolve(settings.File);
        var versions = await Cli.Api().VersionsAsync(workspace, path, cancellationToken);
        if (settings.Json)
        {
            Cli.WriteJson(versions);
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("#", "Version", "Size", "Modified", "Device", "Written");
        var n = 1;
        foreach (var v in versions)
        {
            table.AddRow((n++).ToString(), v.Id.ToString(), Cli.Size(v.Size), v.ModifiedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss"), Markup.Escape(v.Device), v.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss"));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"Restore one with: heady restore \"{settings.File}\" --version <#|id>");
        return ExitCodes.Ok;
    }
}

public sealed class RestoreCommand : AsyncCommand<RestoreSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, RestoreSettings settings, CancellationToken cancellationToken)
    {
        var (root, workspace, path) = FileTarget.Resolve(settings.File);
        var api = Cli.Api();
        Guid versionId;
        if (!Guid.TryParse(settings.Version, out versionId))
        {
            var versions = await api.VersionsAsync(workspace, path, cancellationToken);
            versionId = int.TryParse(settings.Version, out var n) && n >= 1 && n <= versions.Count
                ? versions[n - 1].Id
                : throw new CliException(ExitCodes.Usage, $"--version must be a version id or a number from 1 to {versions.Count} (see `heady versions \"{settings.File}\"`).");
        }

        // The server makes the old content a new version; a pull brings it into the folder.
        var restored = await api.RestoreAsync(workspace, path, versionId, cancellationToken);
        using var state = LocalState.Open(root);
        var engine = new SyncEngine(api, state, root, workspace, new SyncOptions(Cli.DeviceName(state, null)));
        var report = await engine.RunAsync(SyncDirection.Pull, cancellationToken);
        if (settings.Json)
        {
            Cli.WriteJson(new { restored, report.Downloaded, report.Conflicts, failed = report.Failed });
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"Restored {path} from version {versionId} as new version {restored.Id}.");
            FolderSync.Print(report, false, root);
        }

        return report.Failed.Count > 0 ? ExitCodes.Partial : ExitCodes.Ok;
    }
}

public sealed class StatusSettings : GlobalSettings
{
    [CommandArgument(0, "[FOLDER]")]
    [Description("A synced folder (optional): shows its workspace and pending changes.")]
    public string? Folder { get; set; }
}

public sealed class StatusCommand : AsyncCommand<StatusSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, StatusSettings settings, CancellationToken cancellationToken)
    {
        var config = CliConfig.Require();
        var api = Cli.Api();
        var me = await api.MeAsync(cancellationToken);
        var quota = await api.QuotaAsync(cancellationToken);
        object? folder = null;
        if (settings.Folder is not null)
        {
            var root = Cli.FindRoot(settings.Folder);
            using var state = LocalState.Open(root);
            var known = state.AllFiles();
            var scan = Scanner.Scan(root, IgnoreRules.Load(root));
            var seen = scan.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
            // Stat comparison only (like the sync's first step): "maybe changed" without reading files.
            var localChanges = scan.Files.Count(f => !known.TryGetValue(f.Path, out var r) || r.Size != f.Size || r.MtimeTicks != f.MtimeTicks || r.Inode != f.Inode)
                + known.Keys.Count(p => !seen.Contains(p));
            var remoteChanges = 0;
            if (state.WorkspaceId is { } ws)
            {
                var page = await api.ChangesAsync(ws, state.Cursor, 1000, cancellationToken);
                remoteChanges = page.Changes.Count;
            }

            folder = new { root, workspace = state.WorkspaceName, workspaceId = state.WorkspaceId, files = known.Count, localChanges, remoteChanges, skipped = scan.Skipped, cursor = state.Cursor };
            if (!settings.Json)
            {
                AnsiConsole.MarkupLineInterpolated($"Folder [bold]{root}[/] ↔ workspace [bold]{state.WorkspaceName}[/]: {known.Count} file(s) synced, {localChanges} local change(s), {remoteChanges}{(remoteChanges == 1000 ? "+" : "")} remote change(s) pending.");
            }
        }

        if (settings.Json)
        {
            Cli.WriteJson(new { gateway = config.Gateway, user = me.Username, userId = me.Id, role = me.Role, quota, folder });
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"Gateway [bold]{config.Gateway}[/], user [bold]{me.Username}[/] ({me.Id}, {me.Role}); storage {Cli.Size(quota.UsedBytes)} of {Cli.Size(quota.LimitBytes)}.");
        }

        return ExitCodes.Ok;
    }
}
