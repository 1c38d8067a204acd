using System.ComponentModel;
using Heady.Cli.Api;
using Heady.Cli.Sync;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Heady.Cli.Commands;

public class FolderSettings : GlobalSettings
{
    [CommandArgument(0, "<FOLDER>")]
    [Description("The local folder.")]
    public string Folder { get; set; } = "";

    [CommandOption("-w|--workspace <NAME>")]
    [Description("Workspace name or id; needed the first time, then the folder remembers it.")]
    public string? Workspace { get; set; }

    [CommandOption("--device <NAME>")]
    [Description("This device's name in conflict-copy names (default: the host name, remembered per folder).")]
    public string? Device { get; set; }
}

public sealed class SyncSettings : FolderSettings
{
    [CommandOption("--watch")]
    [Description("Keep running: sync on file changes, on remote changes (long poll) and every --rescan seconds.")]
    public bool Watch { get; set; }

    [CommandOption("--rescan <SECONDS>")]
    [Description("Full rescan period in watch mode (default 300).")]
    public int Rescan { get; set; } = 300;
}

public sealed class SyncCommand : AsyncCommand<SyncSettings>
{
    public override Task<int> ExecuteAsync(CommandContext context, SyncSettings settings, CancellationToken cancellationToken) =>
        FolderSync.RunAsync(settings, SyncDirection.Both, settings.Watch, settings.Rescan, cancellationToken);
}

public sealed class PushCommand : AsyncCommand<FolderSettings>
{
    public override Task<int> ExecuteAsync(CommandContext context, FolderSettings settings, CancellationToken cancellationToken) =>
        FolderSync.RunAsync(settings, SyncDirection.Push, watch: false, 0, cancellationToken);
}

public sealed class PullCommand : AsyncCommand<FolderSettings>
{
    public override Task<int> ExecuteAsync(CommandContext context, FolderSettings settings, CancellationToken cancellationToken) =>
        FolderSync.RunAsync(settings, SyncDirection.Pull, watch: false, 0, cancellationToken);
}

internal static class FolderSync
{
    public static async Task<int> RunAsync(FolderSettings settings, SyncDirection direction, bool watch, int rescanSeconds, CancellationToken ct)
    {
        var root = Path.GetFullPath(settings.Folder);
        if (!Directory.Exists(root))
        {
            if (direction == SyncDirection.Push)
            {
                throw new CliException(ExitCodes.Usage, $"The folder {root} does not exist.");
            }

            Directory.CreateDirectory(root);
        }

        var api = Cli.Api();
        using var state = LocalState.Open(root);
        var workspace = await Cli.BindWorkspaceAsync(api, state, settings.Workspace, ct);
        var engine = new SyncEngine(api, state, root, workspace, new SyncOptions(Cli.DeviceName(state, settings.Device)));
        if (!watch)
        {
            var report = await RunOnceAsync(engine, direction, settings.Json, ct);
            Print(report, settings.Json, root);
            return report.Failed.Count > 0 ? ExitCodes.Partial : ExitCodes.Ok;
        }

        return await WatchAsync(api, state, engine, workspace, root, settings.Json, TimeSpan.FromSeconds(Math.Max(5, rescanSeconds)), ct);
    }

    private static async Task<SyncReport> RunOnceAsync(SyncEngine engine, SyncDirection direction, bool json, CancellationToken ct)
    {
        if (json || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            return await engine.RunAsync(direction, ct);
        }

        // The engine gets its progress object inside the progress context.
        SyncReport? result = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var progress = new SpectreProgress(context);
                result = await engine.WithProgress(progress).RunAsync(direction, ct);
                progress.Done();
            });
        return result!;
    }

    private static async Task<int> WatchAsync(HeadyApiClient api, LocalState state, SyncEngine engine, Guid workspace, string root, bool json, TimeSpan rescan, CancellationToken ct)
    {
        if (!json)
        {
            AnsiConsole.MarkupLineInterpolated($"Watching [bold]{root}[/] (Ctrl+C to stop).");
        }

        var watcher = new FolderWatcher(api, engine, root, workspace, state.Cursor) { Rescan = rescan };
        await watcher.RunAsync(
            report =>
            {
                if (report.HasChanges || report.Failed.Count > 0)
                {
                    Print(report, json, root);
                }

                return Task.CompletedTask;
            },
            error => Console.Error.WriteLineAsync($"heady: {error.Message}"),
            ct);
        return ExitCodes.Ok;
    }

    public static void Print(SyncReport report, bool json, string root)
    {
        if (json)
        {
            Cli.WriteJson(new
            {
                folder = root,
                report.Uploaded,
                report.Downloaded,
                report.Renamed,
                report.DeletedRemotely,
                report.DeletedLocally,
                report.Conflicts,
                skipped = report.Skipped,
                failed = report.Failed,
                report.FilesScanned,
                report.FilesHashed,
                report.ChunksUploaded,
                report.ChunksStoredByServer,
                report.BytesUploaded,
                report.ChunksDownloaded,
                report.BytesDownloaded,
                report.ChunksReused,
                report.Cursor,
            });
            return;
        }

        AnsiConsole.MarkupLineInterpolated(
            $"[bold]{report.Uploaded.Count}[/] uploaded, [bold]{report.Downloaded.Count}[/] downloaded, {report.Renamed.Count} renamed, {report.DeletedRemotely.Count} deleted remotely, {report.DeletedLocally.Count} deleted locally; sent {Cli.Size(report.BytesUploaded)} in {report.ChunksUploaded} chunk(s), received {Cli.Size(report.BytesDownloaded)} ({report.ChunksReused} chunk(s) reused from disk); {report.FilesScanned} file(s) scanned, {report.FilesHashed} read.");
        foreach (var conflict in report.Conflicts)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]conflict[/] {conflict}");
        }

        foreach (var skipped in report.Skipped)
        {
            AnsiConsole.MarkupLineInterpolated($"[grey]skipped[/] {skipped.Path}: {skipped.Reason}");
        }

        foreach (var failed in report.Failed)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]not synced[/] {failed.Path}: {failed.Reason}");
        }
    }
}
