using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Heady.Cli.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Heady.Cli.Tests.Local;

/// <summary>`heady login` against a real TLS server on loopback whose certificate is issued by a private CA.</summary>
[Collection(ProcessWide.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LoginTlsTests : IAsyncLifetime
{
    private readonly TempFolder certs = new();
    private WebApplication? server;
    private string caPem = "";
    private string otherCaPem = "";
    private int port;
    private int workspaceCalls;

    public async Task InitializeAsync()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = NewCa("Heady Test CA", now);
        using var other = NewCa("Some Other CA", now);
        caPem = certs.File("ca.pem", ca.ExportCertificatePem());
        otherCaPem = certs.File("other.pem", other.ExportCertificatePem());

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddHours(12), RandomNumberGenerator.GetBytes(8));
        var serverCert = X509CertificateLoader.LoadPkcs12(issued.CopyWithPrivateKey(key).Export(X509ContentType.Pfx), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.UseHttps(serverCert)));
        server = builder.Build();
        server.MapGet("/api/v1/users/me", (HttpRequest r) => r.Headers.Authorization == "Bearer hc_good"
            ? Results.Json(new { id = Guid.Empty, username = "alice", displayName = (string?)null, role = "user" })
            : Results.Problem(statusCode: 401, detail: "The token is not valid."));
        // Rate limited once (as the gateway does past the token's budget), then answers.
        server.MapGet("/api/v1/workspaces", (HttpResponse response) =>
        {
            if (Interlocked.Increment(ref workspaceCalls) == 1)
            {
                response.Headers.RetryAfter = "1";
                return Results.Problem(statusCode: 429, detail: "Too many requests.");
            }

            return Results.Json(Array.Empty<object>());
        });
        await server.StartAsync();
        port = new Uri(server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        certs.Dispose();
    }

    private static X509Certificate2 NewCa(string name, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(1));
    }

    [Fact]
    public async Task Login_with_the_pinned_CA_checks_the_token_and_saves_0600()
    {
        using var cli = new CliRunner();
        var (code, stdout, stderr) = await cli.RunAsync("login", "--gateway", $"https://localhost:{port}", "--token", "hc_good", "--ca", caPem, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal("alice", JsonDocument.Parse(stdout).RootElement.GetProperty("user").GetString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CliConfig.FilePath));
        Assert.Equal(new CliConfig($"https://localhost:{port}", "hc_good", caPem), CliConfig.Load());
    }

    [Fact]
    public async Task An_untrusted_certificate_is_refused_and_the_error_names_the_fix()
    {
        using var cli = new CliRunner();
        var (code, _, stderr) = await cli.RunAsync("login", "--gateway", $"https://localhost:{port}", "--token", "hc_good");
        Assert.Equal(ExitCodes.Network, code);
        Assert.Contains("not trusted", stderr);
        Assert.Contains("--ca", stderr);
        Assert.False(File.Exists(CliConfig.FilePath)); // nothing saved on failure
    }

    [Fact]
    public async Task Pinning_another_CA_refuses_the_gateway()
    {
        using var cli = new CliRunner();
        var (code, _, stderr) = await cli.RunAsync("login", "--gateway", $"https://localhost:{port}", "--token", "hc_good", "--ca", otherCaPem);
        Assert.Equal(ExitCodes.Network, code);
        Assert.Contains("not trusted", stderr);
    }

    [Fact]
    public async Task The_pinned_CA_does_not_waive_the_host_name_check()
    {
        using var cli = new CliRunner();
        // The certificate names "localhost" only; 127.0.0.1 is the same server under a name it does not carry.
        var (code, _, stderr) = await cli.RunAsync("login", "--gateway", $"https://127.0.0.1:{port}", "--token", "hc_good", "--ca", caPem);
        Assert.Equal(ExitCodes.Network, code);
        Assert.Contains("not trusted", stderr);
    }

    [Fact]
    public async Task A_bad_token_is_refused_with_exit_code_4()
    {
        using var cli = new CliRunner();
        var (code, _, stderr) = await cli.RunAsync("login", "--gateway", $"https://localhost:{port}", "--token", "hc_bad", "--ca", caPem);
        Assert.Equal(ExitCodes.Auth, code);
        Assert.Contains("The token is not valid.", stderr);
        Assert.Contains("heady login", stderr);
        Assert.False(File.Exists(CliConfig.FilePath));
    }

    [Fact]
    public async Task A_rate_limited_request_is_retried_after_Retry_After()
    {
        using var cli = new CliRunner();
        Assert.Equal(0, (await cli.RunAsync("login", "--gateway", $"https://localhost:{port}", "--token", "hc_good", "--ca", caPem)).Code);

        var (code, stdout, stderr) = await cli.RunAsync("workspace", "list", "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal("[]", stdout.Trim());
        Assert.Equal(2, workspaceCalls);
    }
}
