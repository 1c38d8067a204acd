using System.Diagnostics;
using System.Text;

namespace HeadyClouds.Backup.Sources;

/// <summary>Runs an external tool (pg_dump, pg_restore, git) with its standard input/output streamed, never buffered whole.</summary>
internal static class Tools
{
    public static Process Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env, bool stdin, bool stdout)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = stdin,
            RedirectStandardOutput = stdout,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }

        try
        {
            return Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"Cannot run {file}: {e.Message} (install it or set its path in the Backup options).", e);
        }
    }

    /// <summary>The last 4 KiB of standard error, read concurrently so the tool never blocks on a full pipe.</summary>
    public static async Task<string> ReadErrorsAsync(Process process)
    {
        var tail = new StringBuilder();
        var buffer = new char[4096];
        int n;
        while ((n = await process.StandardError.ReadAsync(buffer)) > 0)
        {
            tail.Append(buffer, 0, n);
            if (tail.Length > 4096)
            {
                tail.Remove(0, tail.Length - 4096);
            }
        }

        return tail.ToString().Trim();
    }

    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? env, CancellationToken ct)
    {
        using var process = Start(file, args, env, stdin: false, stdout: true);
        using var kill = ct.Register(() => Kill(process));
        var errors = ReadErrorsAsync(process);
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, output, await errors);
    }

    public static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }
}
