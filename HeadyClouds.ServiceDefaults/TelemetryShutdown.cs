using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Flushes and shuts down the tracer, meter and logger providers together, within one budget, once every hosted
/// service has stopped. Left to disposal they shut down one after another, each waiting up to 5 s for an export
/// in flight; with the collector down and Aspire's OTLP retries on, a service took ~15 s to stop and the orchestrator
/// killed it (DCP waits ~12 s, so a restart from the dashboard failed). Telemetry is best effort: a stop is not.
/// </summary>
internal sealed class TelemetryShutdown(IServiceProvider services) : IHostedLifecycleService
{
    /// <summary>What the providers get together, well inside DCP's ~12 s and Kubernetes' 30 s grace period.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        var budget = (int)Budget.TotalMilliseconds;
        var providers = new List<Action>();
        if (services.GetService<TracerProvider>() is { } tracer)
        {
            providers.Add(() => tracer.Shutdown(budget));
        }

        if (services.GetService<MeterProvider>() is { } meter)
        {
            providers.Add(() => meter.Shutdown(budget));
        }

        if (services.GetService<LoggerProvider>() is { } logger)
        {
            providers.Add(() => logger.Shutdown(budget));
        }

        // Shutdown blocks (it joins the exporter threads), so each runs on its own thread; the later Dispose of each
        // provider finds it shut down and returns at once.
        return Task.WhenAll(providers.Select(shutdown => Task.Factory.StartNew(
            shutdown, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
