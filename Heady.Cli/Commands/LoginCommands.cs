using System.ComponentModel;
using Heady.Cli.Api;
using Heady.Cli.Config;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Heady.Cli.Commands;

public sealed class LoginSettings : GlobalSettings
{
    [CommandOption("-g|--gateway <URL>")]
    [Description("The gateway, e.g. https://heady.example.com")]
    public string? Gateway { get; set; }

    [CommandOption("-t|--token <TOKEN>")]
    [Description("An API token (create one with POST /api/v1/tokens). Default: $HEADY_TOKEN, else read from stdin.")]
    public string? Token { get; set; }

    [CommandOption("--ca <PEM>")]
    [Description("Trust only this CA for the gateway's certificate (the platform's internal CA), instead of the system store.")]
    public string? Ca { get; set; }
}

public sealed class LoginCommand : AsyncCommand<LoginSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, LoginSettings settings, CancellationToken cancellationToken)
    {
        var gateway = settings.Gateway ?? throw new CliException(ExitCodes.Usage, "Give the gateway: `heady login --gateway https://<host> --token <token>`.");
        var token = settings.Token ?? Environment.GetEnvironmentVariable("HEADY_TOKEN");
        if (string.IsNullOrWhiteSpace(token))
        {
            token = Console.IsInputRedirected ? Console.In.ReadLine() : AnsiConsole.Prompt(new TextPrompt<string>("API token:").Secret());
        }

        if (string.IsNullOrWhiteSpace(token))
        {
            throw new CliException(ExitCodes.Usage, "No token given (--token, $HEADY_TOKEN or stdin).");
        }

        var ca = settings.Ca is null ? null : Path.GetFullPath(settings.Ca);
        if (ca is not null)
        {
            _ = GatewayClientFactory.LoadCa(ca); // fail now, not at the first sync
        }

        var config = new CliConfig(gateway.TrimEnd('/'), token.Trim(), ca);
        // Check before saving: a wrong URL, an untrusted certificate or a bad token fails here with what to do.
        using var http = Cli.ClientFactory(config);
        var me = await new HeadyApiClient(http).MeAsync(cancellationToken);
        config.Save();
        if (settings.Json)
        {
            Cli.WriteJson(new { gateway = config.Gateway, user = me.Username, userId = me.Id, role = me.Role, configFile = CliConfig.FilePath });
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"Logged in to [bold]{config.Gateway}[/] as [bold]{me.Username}[/] ({me.Role}). Saved to {CliConfig.FilePath} (mode 0600).");
        }

        return ExitCodes.Ok;
    }
}

public sealed class LogoutCommand : Command<GlobalSettings>
{
    public override int Execute(CommandContext context, GlobalSettings settings, CancellationToken cancellationToken)
    {
        var removed = CliConfig.Delete();
        if (settings.Json)
        {
            Cli.WriteJson(new { loggedOut = removed });
        }
        else
        {
            AnsiConsole.WriteLine(removed ? "Logged out: the token was removed from this machine (revoke it on the server if it leaked)." : "Not logged in.");
        }

        return ExitCodes.Ok;
    }
}
