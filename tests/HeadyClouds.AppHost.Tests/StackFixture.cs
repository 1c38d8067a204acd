using System.Net.Http.Headers;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography;
using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeadyClouds.AppHost.Tests;

/// <summary>
/// The whole stack from the AppHost, in local mode (no container engine), with a fresh state directory.
/// One per test collection: starting takes seconds and disposing ~13 s. Derived fixtures add AppHost settings.
/// </summary>
public class StackFixture : IAsyncLifetime
{
    protected virtual TimeSpan StartTimeout => TimeSpan.FromMinutes(4);

    /// <summary>More AppHost command-line settings (<c>--Key=value</c>) for a stack configured differently.</summary>
    protected virtual IEnumerable<string> ExtraArguments => [];

    public string AdminToken { get; } = "hc_admin_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>Known to the tests so they can sign a (valid) user assertion and present it from the wrong peer.</summary>
    public string IdentitySigningKey { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>Known to the tests so they can enroll test workloads (a certificate with some service's identity).</summary>
    public string CaOperatorToken { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), "headyclouds-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.HeadyClouds_AppHost>(
        [
            "--HeadyClouds:DataTier=local",
            $"--HeadyClouds:StateDirectory={StateDirectory}",
            $"--Parameters:admin-token={AdminToken}",
            $"--Parameters:identity-signing-key={IdentitySigningKey}",
            $"--Parameters:ca-operator-token={CaOperatorToken}",
            "--DcpPublisher:RandomizePorts=true",
            .. ExtraArguments,
        ]);
        // Resources' own warnings and errors (forwarded by Aspire) end up in the test output: the first place to look.
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddSimpleConsole(o => o.SingleLine = true));
        builder.Services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler(o =>
        {
            // The tests assert exact status codes: never retry a 401 or 5xx into something else.
            o.Retry.MaxRetryAttempts = 1;
            o.Retry.ShouldHandle = _ => ValueTask.FromResult(false);
        }));

        App = await builder.BuildAsync();
        using var cts = new CancellationTokenSource(StartTimeout);
        await App.StartAsync(cts.Token);
        await App.ResourceNotifications.WaitForResourceHealthyAsync("gateway", cts.Token);
    }

    /// <summary>The development certificate the AppHost generated for the gateway; clients pin it.</summary>
    public X509Certificate2 GatewayCertificate => X509Certificate2.CreateFromPem(
        File.ReadAllText(Path.Combine(StateDirectory, "gateway-tls", "cert.pem")));

    public Uri GatewayHttps => App.GetEndpoint("gateway", "https");

    public Uri GatewayHttp => App.GetEndpoint("gateway", "http");

    /// <summary>A client of the public HTTPS endpoint that trusts exactly the gateway's certificate.</summary>
    public HttpClient Gateway(string? token = null, SslProtocols protocols = SslProtocols.None)
    {
        var pin = GatewayCertificate.GetCertHash(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            SslOptions =
            {
                EnabledSslProtocols = protocols,
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    presented is not null && presented.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(pin),
            },
        };
        var client = new HttpClient(handler) { BaseAddress = GatewayHttps };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Leftovers in /tmp are harmless (PostgreSQL's files belong to its own user); cleanup must not fail the run.
            Console.WriteLine($"Could not remove {StateDirectory}: {e.Message}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    public const string Name = "stack";
}
