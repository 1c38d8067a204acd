using Heady.Cli.Commands;
using Spectre.Console.Cli;

namespace Heady.Cli;

/// <summary>The command tree (Program.cs runs it; tests run it in-process).</summary>
public static class HeadyApp
{
    public static CommandApp Create()
    {
        var app = new CommandApp();
        app.Configure(Configure);
        return app;
    }

    private static void Configure(IConfigurator config)
    {
        config.SetApplicationName("heady");
        config.AddCommand<LoginCommand>("login").WithDescription("Store the gateway URL and an API token (checked first) in ~/.config/heady (0600).");
        config.AddCommand<LogoutCommand>("logout").WithDescription("Remove the stored token.");
        config.AddCommand<StatusCommand>("status").WithDescription("Who you are, your quota, and a synced folder's pending changes.");
        config.AddBranch("workspace", ws =>
        {
            ws.SetDescription("Create, list and share workspaces.");
            ws.AddCommand<WorkspaceCreateCommand>("create");
            ws.AddCommand<WorkspaceListCommand>("list");
            ws.AddCommand<WorkspaceShareCommand>("share");
        });
        config.AddBranch("admin", admin =>
        {
            admin.SetDescription("Platform administration (admin role).");
            admin.AddCommand<AdminQuotaCommand>("quota").WithDescription("Show a user's storage quota; --set or --default change it.");
        });
        config.AddCommand<SyncCommand>("sync").WithDescription("Two-way sync of a folder with a workspace (--watch keeps running).");
        config.AddCommand<PushCommand>("push").WithDescription("Upload local changes only.");
        config.AddCommand<PullCommand>("pull").WithDescription("Download remote changes only.");
        config.AddCommand<VersionsCommand>("versions").WithDescription("List a file's versions.");
        config.AddCommand<RestoreCommand>("restore").WithDescription("Make an old version of a file the current one.");
        config.SetExceptionHandler((exception, _) =>
        {
            // Errors say what to do; stack traces only with HEADY_DEBUG=1.
            var (code, message) = exception switch
            {
                CliException e => (e.ExitCode, e.Message),
                CommandAppException e => (ExitCodes.Usage, e.Message),
                OperationCanceledException => (130, "Interrupted; run the same command again to resume."),
                _ => (ExitCodes.Error, $"{exception.GetType().Name}: {exception.Message}"),
            };
            Console.Error.WriteLine($"heady: {message}");
            if (Environment.GetEnvironmentVariable("HEADY_DEBUG") == "1")
            {
                Console.Error.WriteLine(exception);
            }

            return code;
        });
    }
}
