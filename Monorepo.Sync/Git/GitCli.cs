using System.Diagnostics;
using System.Text;

namespace Monorepo.Sync.Git;

/// <summary>The outcome of one git invocation.</summary>
public sealed record GitResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    public GitResult EnsureSuccess(string what) => Succeeded
        ? this
        : throw new GitCommandException($"{what} failed (git exit {ExitCode}): {GitCli.Redact(StandardError.Trim())}", this);
}

public sealed class GitCommandException(string message, GitResult? result = null) : Exception(message)
{
    public GitResult? Result { get; } = result;
}

/// <summary>
/// Runs the system <c>git</c> with an argument vector (never a shell string, so user input cannot become a command),
/// a timeout and cancellation (the whole process tree is killed), a clean environment (no user or system git config,
/// no terminal prompts) and optional extra environment variables for credentials.
/// </summary>
public sealed class GitCli(string gitExecutable = "git")
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    public async Task<GitResult> RunAsync(
        string? workingDirectory,
        IReadOnlyList<string> arguments,
        CancellationToken cancellationToken,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? standardInput = null)
    {
        var start = new ProcessStartInfo(gitExecutable)
        {
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Deterministic behaviour whoever runs the service: no ~/.gitconfig or /etc/gitconfig, no prompts, C locale.
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        start.Environment["GIT_ASKPASS"] = "/bin/false";
        start.Environment["SSH_ASKPASS"] = "/bin/false";
        start.Environment["LC_ALL"] = "C";
        start.Environment.Remove("GIT_DIR");
        start.Environment.Remove("GIT_WORK_TREE");
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new GitCommandException("git could not be started");
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout ?? DefaultTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeoutSource.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeoutSource.Token);
        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), timeoutSource.Token);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(timeoutSource.Token);
            return new GitResult(process.ExitCode, await stdout, await stderr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new GitCommandException($"git {SafeCommandName(arguments)} timed out after {(timeout ?? DefaultTimeout).TotalSeconds:F0} s");
        }
    }

    /// <summary>The subcommand only: arguments may hold URLs, and URLs may hold secrets.</summary>
    private static string SafeCommandName(IReadOnlyList<string> arguments) =>
        arguments.FirstOrDefault(a => !a.StartsWith('-')) ?? "";

    /// <summary>Removes userinfo from URLs in git's messages, so a credential never reaches a log or an API answer.</summary>
    public static string Redact(string text) =>
        System.Text.RegularExpressions.Regex.Replace(text, @"(?<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", "${scheme}***@");
}
