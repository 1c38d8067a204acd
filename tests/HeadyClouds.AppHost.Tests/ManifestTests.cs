using System.Diagnostics;
using System.Text.Json;

namespace HeadyClouds.AppHost.Tests;

/// <summary>The operator's path: the manifest is written without Docker and describes the containers-mode stack.</summary>
public sealed class ManifestTests
{
    private static readonly string[] ExpectedResources =
    [
        "postgres", "syncmanager-db", "headyme-db", "monorepo-db", "redis", "objectstore",
        "syncmanager", "headyme-sync", "monorepo-sync", "gateway",
        "syncmanager-migrations", "headyme-sync-migrations", "monorepo-sync-migrations",
        "admin-token", "identity-signing-key", "encryption-kek", "postgres-password", "redis-password", "objectstore-user", "objectstore-password",
        "certificate-authority", "ca-pkcs11-module", "ca-token-label", "mesh-trust-anchors",
    ];

    private static readonly string[] MeshWorkloads = ["gateway", "syncmanager", "headyme-sync", "monorepo-sync"];

    private static readonly string[] SecretParameters =
    [
        "admin-token", "identity-signing-key", "encryption-kek", "backup-kek", "postgres-password", "redis-password", "objectstore-user", "objectstore-password",
        "ca-operator-token", "ca-hsm-pin", .. MeshWorkloads.Select(w => w + "-join-token"),
    ];

    [Fact]
    public async Task Manifest_lists_every_resource_with_secrets_as_parameters_and_no_local_paths()
    {
        var output = Path.Combine(Path.GetTempPath(), "headyclouds-manifest-" + Guid.NewGuid().ToString("N")[..8], "manifest.json");
        var json = await PublishManifestAsync(output);
        using var manifest = JsonDocument.Parse(json);
        var resources = manifest.RootElement.GetProperty("resources");

        foreach (var name in ExpectedResources)
        {
            Assert.True(resources.TryGetProperty(name, out _), $"manifest lacks resource '{name}'");
        }

        foreach (var name in SecretParameters)
        {
            var parameter = resources.GetProperty(name);
            Assert.Equal("parameter.v0", parameter.GetProperty("type").GetString());
            Assert.True(parameter.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean(), $"{name} is not secret");
        }

        // Item 9 of issue 3: no key or certificate material; the mesh's secrets are parameters, issued at run time.
        Assert.DoesNotContain("-----BEGIN", json, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", json, StringComparison.Ordinal);
        Assert.DoesNotContain("softhsm", json, StringComparison.OrdinalIgnoreCase);
        Assert.False(resources.TryGetProperty("ca-hsm", out _), "the development SoftHSM initialisation is not part of the manifest");
        var caEnv = resources.GetProperty("certificate-authority").GetProperty("env");
        Assert.Equal("{ca-hsm-pin.value}", caEnv.GetProperty("CertificateAuthority__Pkcs11__Pin").GetString());
        Assert.Equal("{ca-operator-token.value}", caEnv.GetProperty("CertificateAuthority__OperatorToken").GetString());
        Assert.Equal("{ca-pkcs11-module.value}", caEnv.GetProperty("CertificateAuthority__Pkcs11__ModulePath").GetString());
        foreach (var workload in MeshWorkloads)
        {
            var env = resources.GetProperty(workload).GetProperty("env");
            Assert.Equal(workload, env.GetProperty("Mesh__ServiceName").GetString());
            Assert.Equal($"{{{workload}-join-token.value}}", env.GetProperty("Mesh__JoinToken").GetString());
            Assert.Equal("{mesh-trust-anchors.value}", env.GetProperty("Mesh__TrustAnchors").GetString());
            // The CA knows the same token (only its hash is stored), so the first issuance works without an operator call.
            Assert.Equal($"{{{workload}-join-token.value}}", caEnv.GetProperty($"CertificateAuthority__JoinTokens__{workload}").GetString());
        }

        Assert.StartsWith("container.", resources.GetProperty("postgres").GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("container.", resources.GetProperty("objectstore").GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("/var/tmp", json, StringComparison.Ordinal);
        Assert.DoesNotContain("eng/local", json, StringComparison.Ordinal);
        Assert.DoesNotContain("s3rver", json, StringComparison.Ordinal);
        // Only the gateway is reachable from outside.
        var external = resources.EnumerateObject()
            .Where(r => r.Value.TryGetProperty("bindings", out var b) && b.EnumerateObject().Any(x => x.Value.TryGetProperty("external", out var e) && e.GetBoolean()))
            .Select(r => r.Name)
            .ToArray();
        Assert.Equal(["gateway"], external);
    }

    private static async Task<string> PublishManifestAsync(string output)
    {
        var project = Projects.HeadyClouds_AppHost.ProjectPath;
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "run", "--no-build", "-c", configuration, "--project", project, "--", "--publisher", "manifest", "--output-path", output },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The manifest must not depend on the machine: no container engine is consulted in publish mode.
        start.Environment["HeadyClouds__DataTier"] = "auto";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, $"manifest publish failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        return await File.ReadAllTextAsync(output);
    }
}
