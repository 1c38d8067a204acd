using System.Text.Json;

namespace Heady.Cli.Config;

/// <summary>What `heady login` stores: the gateway, the API token and an optional CA to pin.</summary>
public sealed record CliConfig(string Gateway, string Token, string? CaFile)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>$HEADY_CONFIG_DIR, else $XDG_CONFIG_HOME/heady, else ~/.config/heady.</summary>
    public static string Directory
    {
        get
        {
            var explicitDir = Environment.GetEnvironmentVariable("HEADY_CONFIG_DIR");
            if (!string.IsNullOrEmpty(explicitDir))
            {
                return explicitDir;
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
            var baseDir = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
            return Path.Combine(baseDir, "heady");
        }
    }

    public static string FilePath => Path.Combine(Directory, "config.json");

    public static CliConfig? Load()
    {
        if (!File.Exists(FilePath))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(FilePath), Json);
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.Config, $"The configuration {FilePath} is not valid JSON ({e.Message}). Run `heady login` again.");
        }
    }

    public static CliConfig Require() =>
        Load() ?? throw new CliException(ExitCodes.Config, "Not logged in. Run `heady login --gateway https://<gateway> --token <api token>` first.");

    /// <summary>Writes the file readable by the owner only (0600), in a 0700 directory, before the token is in it.</summary>
    public void Save()
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(FilePath, JsonSerializer.Serialize(this, Json));
            return;
        }

        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temp = FilePath + ".tmp";
        File.Delete(temp);
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            JsonSerializer.Serialize(stream, this, Json);
        }

        File.Move(temp, FilePath, overwrite: true);
    }

    public static bool Delete()
    {
        if (!File.Exists(FilePath))
        {
            return false;
        }

        File.Delete(FilePath);
        return true;
    }
}
