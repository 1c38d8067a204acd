using System.ComponentModel;
using System.Text.Json;
using Heady.Cli.Api;
using Heady.Cli.Config;
using Heady.Cli.Sync;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Heady.Cli.Commands;

public class GlobalSettings : CommandSettings
{
    [CommandOption("--json")]
    [Description("Write the result as JSON on stdout (for scripts); no progress bars or tables.")]
    public bool Json { get; set; }
}

/// <summary>Shared plumbing of the commands: configuration, the API client, output.</summary>
public static class Cli
{
    /// <summary>How commands get their HttpClient (tests may replace it).</summary>
    public static Func<CliConfig, HttpClient> ClientFactory { get; set; } = config => GatewayClientFactory.Create(config);

    public static HeadyApiClient Api() => new(ClientFactory(CliConfig.Require()));

    private static readonly JsonSerializerOptions JsonOut = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void WriteJson(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOut));

    /// <summary>The folder's root: the folder itself, or the nearest parent holding <c>.heady/</c> for a file inside one.</summary>
    public static string FindRoot(string path)
    {
        var full = Path.GetFullPath(path);
        for (var dir = Directory.Exists(full) ? full : Path.GetDirectoryName(full); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (LocalState.Exists(dir))
            {
                return dir;
            }
        }

        throw new CliException(ExitCodes.Usage, $"'{path}' is not inside a synced folder (no .heady/ above it). Run `heady sync <folder> --workspace <name>` first.");
    }

    /// <summary>The workspace of a folder: the one it is bound to, or the one named (which binds it on first use).</summary>
    public static async Task<Guid> BindWorkspaceAsync(HeadyApiClient api, LocalState state, string? requested, CancellationToken ct)
    {
        var bound = state.WorkspaceId;
        if (requested is null)
        {
            return bound ?? throw new CliException(ExitCodes.Usage, "This folder is not bound to a workspace yet: pass --workspace <name>.");
        }

        var workspace = await api.ResolveWorkspaceAsync(requested, ct);
        if (bound is not null && bound != workspace.Id)
        {
            throw new CliException(ExitCodes.Usage,
                $"This folder is synced with workspace '{state.WorkspaceName}' ({bound}), not '{workspace.Name}'. Use another folder, or delete its .heady/ folder to start over.");
        }

        state.WorkspaceId = workspace.Id;
        state.WorkspaceName = workspace.Name;
        return workspace.Id;
    }

    public static string DeviceName(LocalState state, string? requested)
    {
        var device = requested ?? state.GetMeta("device") ?? Environment.MachineName;
        state.SetMeta("device", device);
        return device;
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.#} KiB",
        _ => $"{bytes} B",
    };
}

/// <summary>Progress bars on an interactive terminal.</summary>
public sealed class SpectreProgress(ProgressContext context) : ISyncProgress
{
    private ProgressTask? task;
    private readonly ProgressTask status = context.AddTask("[grey]starting[/]", maxValue: 1);

    public void Status(string message)
    {
        status.Description = $"[grey]{Markup.Escape(message)}[/]";
    }

    public void BeginTransfer(string label, long totalBytes)
    {
        task = context.AddTask(Markup.Escape($"{label} {Cli.Size(totalBytes)}"), maxValue: Math.Max(1, totalBytes));
    }

    public void Advance(long bytes) => task?.Increment(bytes);

    public void EndTransfer()
    {
        if (task is not null)
        {
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }

    public void Done()
    {
        status.Value = 1;
        status.Description = "[grey]done[/]";
        status.StopTask();
    }
}
