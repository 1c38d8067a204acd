using Heady.Cli.Config;

namespace Heady.Cli.Tests.Local;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Collection(ProcessWide.Name)]
public class CliConfigTests
{
    [Fact]
    public void Saved_config_is_readable_by_the_owner_only()
    {
        using var dir = new TempFolder();
        // HEADY_CONFIG_DIR is process-wide: only this test sets it, and restores it.
        var previous = Environment.GetEnvironmentVariable("HEADY_CONFIG_DIR");
        Environment.SetEnvironmentVariable("HEADY_CONFIG_DIR", Path.Combine(dir.Path, "heady"));
        try
        {
            new CliConfig("https://gw.example", "hc_secret", null).Save();
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CliConfig.FilePath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(CliConfig.Directory));
            Assert.Equal(new CliConfig("https://gw.example", "hc_secret", null), CliConfig.Load());

            // Rewriting keeps 0600 even if someone loosened the old file.
            File.SetUnixFileMode(CliConfig.FilePath, (UnixFileMode)0x1B6);
            new CliConfig("https://gw.example", "hc_other", null).Save();
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CliConfig.FilePath));
            Assert.True(CliConfig.Delete());
            var error = Assert.Throws<CliException>(CliConfig.Require);
            Assert.Equal(ExitCodes.Config, error.ExitCode);
            Assert.Contains("heady login", error.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HEADY_CONFIG_DIR", previous);
        }
    }
}
