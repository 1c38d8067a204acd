namespace Heady.Cli.Tests;

/// <summary>Tests that change process-wide things (HEADY_CONFIG_DIR, Console.Out, Cli.ClientFactory) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWide
{
    public const string Name = "process-wide";
}

/// <summary>Runs `heady` in-process with its own config directory; captures stdout and stderr.</summary>
public sealed class CliRunner : IDisposable
{
    private readonly string? previousConfig = Environment.GetEnvironmentVariable("HEADY_CONFIG_DIR");
    private readonly Local.TempFolder home = new();

    public CliRunner()
    {
        Environment.SetEnvironmentVariable("HEADY_CONFIG_DIR", Path.Combine(home.Path, "heady"));
    }

    public string ConfigDir => Path.Combine(home.Path, "heady");

    public async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var code = await HeadyApp.Create().RunAsync(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("HEADY_CONFIG_DIR", previousConfig);
        Commands.Cli.ClientFactory = config => Api.GatewayClientFactory.Create(config);
        home.Dispose();
    }
}
