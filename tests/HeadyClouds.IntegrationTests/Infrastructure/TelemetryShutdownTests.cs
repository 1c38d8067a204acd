using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace HeadyClouds.IntegrationTests.Infrastructure;

/// <summary>
/// A service built with the service defaults must stop before its orchestrator gives up on it, even when the telemetry
/// collector is down. Aspire turns on OTLP retries, and disposing the tracer, meter and logger providers waits for each
/// one's export in flight: with the exporter's default 10 s timeout a stop took ~15 s, past DCP's ~12 s, so a restart
/// from the dashboard failed with "Failed to stop resource" (seen in CI).
/// </summary>
/// <remarks>
/// This bounds a correctness deadline (the orchestrator kills the process and the restart fails), not a speed target:
/// the budget is generous against a healthy stop (well under a second) and against the failure (15 s).
/// </remarks>
public sealed class TelemetryShutdownTests(ITestOutputHelper output)
{
    private static readonly TimeSpan OrchestratorDeadline = TimeSpan.FromSeconds(10);

    public enum Collector
    {
        /// <summary>Nothing listens: every export attempt is refused at once and retried.</summary>
        Refusing,

        /// <summary>A listener that accepts connections and never answers: every attempt waits for its deadline.</summary>
        Silent,
    }

    [Theory]
    [InlineData(Collector.Refusing)]
    [InlineData(Collector.Silent)]
    public async Task A_service_stops_before_the_orchestrator_deadline_when_the_collector_is_unreachable(Collector collector)
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        int port;
        var accepted = new List<Socket>();
        if (collector == Collector.Silent)
        {
            silent.Start();
            port = ((IPEndPoint)silent.LocalEndpoint).Port;
            _ = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        accepted.Add(await silent.AcceptSocketAsync());
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            });
        }
        else
        {
            port = FreePort();
        }

        var builder = WebApplication.CreateBuilder();
        // What the AppHost gives every project resource (Aspire's OTLP settings), pointing at the unreachable collector.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["OTEL_TRACES_SAMPLER"] = "always_on",
        });
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGet("/hello", (ILogger<TelemetryShutdownTests> logger) =>
        {
            logger.LogInformation("hello");
            return "hello";
        });
        await app.StartAsync();

        // Spans, logs and metrics to export; then let the exporters start trying.
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        using (var client = new HttpClient { BaseAddress = new Uri(address) })
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal("hello", await client.GetStringAsync("/hello"));
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var stopping = Stopwatch.StartNew();
        await app.StopAsync();
        await app.DisposeAsync();
        stopping.Stop();
        output.WriteLine($"{collector}: stopped and disposed in {stopping.Elapsed.TotalSeconds:F1} s");

        foreach (var socket in accepted)
        {
            socket.Dispose();
        }

        Assert.True(stopping.Elapsed < OrchestratorDeadline,
            $"Stopping took {stopping.Elapsed.TotalSeconds:F1} s with the collector {collector.ToString().ToLowerInvariant()}; the orchestrator gives up after ~12 s.");
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
