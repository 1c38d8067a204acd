using Microsoft.Extensions.Options;

namespace Gateway.Yarp.Waf;

/// <summary>Holds the engine for the current <see cref="WafOptions"/> and rebuilds it when configuration reloads.</summary>
public sealed class WafEngineProvider : IDisposable
{
    private readonly IDisposable? subscription;
    private volatile WafEngine engine;

    public WafEngineProvider(IOptionsMonitor<WafOptions> options)
        : this(options, WafSignatures.Default)
    {
    }

    /// <summary>With a custom signature list (tests use it to put a pathological pattern into the pipeline).</summary>
    public WafEngineProvider(IOptionsMonitor<WafOptions> options, IReadOnlyList<WafSignature> signatures)
    {
        engine = new WafEngine(options.CurrentValue, signatures);
        subscription = options.OnChange(o => engine = new WafEngine(o, signatures));
    }

    public WafEngine Engine => engine;

    public void Dispose() => subscription?.Dispose();
}
