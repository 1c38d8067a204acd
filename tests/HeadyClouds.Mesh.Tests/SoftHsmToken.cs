using System.Diagnostics;
using System.Runtime.InteropServices;

namespace HeadyClouds.Mesh.Tests;

/// <summary>
/// One SoftHSM2 token for the whole test process, in a private token directory. Created before the module is first
/// loaded: SoftHSM reads <c>SOFTHSM2_CONF</c> from the native environment at C_Initialize (hence setenv, which
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not do on Unix), and each CA fixture uses its
/// own key-label prefix in it.
/// </summary>
public static partial class SoftHsmToken
{
    public const string ModulePath = "/usr/lib/softhsm/libsofthsm2.so";
    public const string Label = "heady-mesh-tests";

    private static readonly Lazy<string> PinValue = new(Create);

    public static string Pin => PinValue.Value;

    public static string Directory { get; private set; } = "";

    private static string Create()
    {
        if (!File.Exists(ModulePath))
        {
            throw new InvalidOperationException($"{ModulePath} is missing: install softhsm2 (bash eng/install-deps.sh).");
        }

        RemoveStaleDirectories();
        Directory = Path.Combine(Path.GetTempPath(), $"heady-softhsm-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        var tokens = Path.Combine(Directory, "tokens");
        System.IO.Directory.CreateDirectory(tokens);
        var conf = Path.Combine(Directory, "softhsm2.conf");
        File.WriteAllText(conf, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n");
        if (setenv("SOFTHSM2_CONF", conf, 1) != 0)
        {
            throw new InvalidOperationException("setenv(SOFTHSM2_CONF) failed.");
        }

        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", conf);
        var pin = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var start = new ProcessStartInfo("softhsm2-util", ["--init-token", "--free", "--label", Label, "--pin", pin, "--so-pin", pin + "so"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["SOFTHSM2_CONF"] = conf;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"softhsm2-util --init-token failed ({process.ExitCode}): {output}");
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return pin;
    }

    /// <summary>Token directories of earlier test processes that ended without their exit handler (the runner may kill them).</summary>
    private static void RemoveStaleDirectories()
    {
        foreach (var stale in System.IO.Directory.EnumerateDirectories(Path.GetTempPath(), "heady-softhsm-*"))
        {
            var parts = Path.GetFileName(stale).Split('-');
            if (parts.Length < 3 || !int.TryParse(parts[2], out var pid) || ProcessIsAlive(pid))
            {
                continue;
            }

            try
            {
                System.IO.Directory.Delete(stale, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool ProcessIsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
