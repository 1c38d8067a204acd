using System.ComponentModel;
using HeadyClouds.Sync.Core.Protocol;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Heady.Cli.Commands;

public sealed class AdminQuotaSettings : GlobalSettings
{
    [CommandArgument(0, "<USER>")]
    [Description("The user's id or username.")]
    public string User { get; set; } = "";

    [CommandOption("--set <SIZE>")]
    [Description("Give the user this quota: bytes, or with a unit (500MB, 10GiB, 1.5TB). 0 allows no writes that add bytes.")]
    public string? Set { get; set; }

    [CommandOption("--default")]
    [Description("Remove the user's own quota, so the service-wide default applies.")]
    public bool Default { get; set; }

    public override ValidationResult Validate()
    {
        if (Set is not null && Default)
        {
            return ValidationResult.Error("Use --set or --default, not both.");
        }

        return Set is null || ByteSize.TryParse(Set, out _)
            ? ValidationResult.Success()
            : ValidationResult.Error($"--set '{Set}' is not a size: give bytes (1073741824) or a number with a unit (500MB, 10GiB, 1.5TB).");
    }
}

/// <summary>Shows or changes a user's storage quota (admins only; the server refuses anyone else with 403).</summary>
public sealed class AdminQuotaCommand : AsyncCommand<AdminQuotaSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, AdminQuotaSettings settings, CancellationToken cancellationToken)
    {
        var api = Cli.Api();
        var userId = await api.ResolveUserIdAsync(settings.User, cancellationToken);
        UserQuotaResponse quota;
        try
        {
            if (settings.Set is not null)
            {
                ByteSize.TryParse(settings.Set, out var limit);
                quota = await api.SetUserQuotaAsync(userId, limit, cancellationToken);
            }
            else
            {
                if (settings.Default)
                {
                    await api.ResetUserQuotaAsync(userId, cancellationToken);
                }

                quota = await api.UserQuotaAsync(userId, cancellationToken);
            }
        }
        catch (Api.HeadyApiException e) when (e.Status == System.Net.HttpStatusCode.Forbidden)
        {
            throw new CliException(ExitCodes.Auth, "Only admins can see or change other users' quotas; `heady status` shows your own.", e);
        }

        if (settings.Json)
        {
            Cli.WriteJson(quota);
        }
        else
        {
            var source = quota.IsDefault ? "the default" : "set for this user";
            var over = quota.UsedBytes > quota.LimitBytes ? " [red](over: new uploads are refused until files are deleted)[/]" : "";
            AnsiConsole.MarkupLine($"User {quota.UserId}: {Markup.Escape(Cli.Size(quota.UsedBytes))} used of {Markup.Escape(Cli.Size(quota.LimitBytes))} ({source}).{over}");
        }

        return ExitCodes.Ok;
    }
}
