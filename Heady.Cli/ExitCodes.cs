namespace Heady.Cli;

/// <summary>Process exit codes (documented in docs/heady-cli.md); scripts may rely on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Usage = 2;
    public const int Config = 3;
    public const int Auth = 4;
    public const int NotFound = 5;
    public const int Network = 6;

    /// <summary>The sync finished but some files could not be synced (rejected, unreadable, hostile names).</summary>
    public const int Partial = 7;

    public const int Quota = 8;
}

/// <summary>An error to show the user as is (it says what to do) with its exit code.</summary>
public class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
