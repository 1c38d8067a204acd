using System.Globalization;
using HeadyClouds.AppHost.DataTier;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.AppHost.Mesh;

/// <summary>The internal CA resource and what a service needs to join the mesh through it (decision 0006).</summary>
public sealed record MeshAuthority(
    IResourceBuilder<ProjectResource> Ca,
    IResourceBuilder<ParameterResource> OperatorToken,
    string? TrustBundlePath,
    IResourceBuilder<ParameterResource>? TrustAnchors);

public static class MeshResources
{
    public const string SoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";
    public const string HsmTokenLabel = "heady-ca";

    /// <summary>Optional (tests): one workload-certificate lifetime for the whole mesh, e.g. <c>00:01:00</c>; unset: the CA's 24 h.</summary>
    public const string LeafLifetimeKey = "HeadyClouds:Mesh:LeafLifetime";

    /// <summary>
    /// The CA, first of all resources. Run mode: its key in a private SoftHSM2 token in the state directory (initialised by
    /// the one-shot <c>ca-hsm</c> resource, eng/local/softhsm.sh), PINs generated and kept as secret parameters. Publish
    /// mode: module, token label and PIN are parameters; the state lives on a volume.
    /// </summary>
    public static MeshAuthority AddCertificateAuthority(this IDistributedApplicationBuilder builder, string stateDirectory)
    {
        var publish = builder.ExecutionContext.IsPublishMode;
        var operatorToken = builder.AddParameter(ResourceNames.CaOperatorToken, new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);
        var ca = builder.AddProject<Projects.HeadyClouds_CertificateAuthority>(ResourceNames.CertificateAuthority)
            .WithEnvironment("CertificateAuthority__OperatorToken", operatorToken)
            .WithHttpEndpoint(name: ProbeEndpoint);
        ca.WithEnvironment("CertificateAuthority__ProbePort", ca.GetEndpoint(ProbeEndpoint).Property(EndpointProperty.TargetPort))
            .WithHttpHealthCheck("/health", endpointName: ProbeEndpoint);
        if (LeafLifetime(builder) is { } leafLifetime)
        {
            ca.WithEnvironment("CertificateAuthority__LeafLifetime", leafLifetime.ToString("c", CultureInfo.InvariantCulture));
        }

        if (publish)
        {
            var trustAnchors = builder.AddParameter(ResourceNames.MeshTrustAnchors);
            ca.WithEnvironment("CertificateAuthority__Pkcs11__ModulePath", builder.AddParameter(ResourceNames.CaPkcs11Module))
                .WithEnvironment("CertificateAuthority__Pkcs11__TokenLabel", builder.AddParameter(ResourceNames.CaTokenLabel))
                .WithEnvironment("CertificateAuthority__Pkcs11__Pin", builder.AddParameter(ResourceNames.CaHsmPin, secret: true))
                .WithEnvironment("CertificateAuthority__StatePath", "/data/ca/ca.db")
                .WithEnvironment("CertificateAuthority__TrustBundlePath", "/data/ca/trust-bundle.pem");
            return new MeshAuthority(ca, operatorToken, null, trustAnchors);
        }

        if (!File.Exists(SoftHsmModule) || LocalPrerequisites.FindOnPath("softhsm2-util") is null)
        {
            throw new DistributedApplicationException($"The internal CA keeps its key in SoftHSM2 in development; missing {SoftHsmModule} or softhsm2-util. {LocalPrerequisites.InstallHint}.");
        }

        var root = DataTierExtensions.RepositoryRoot(builder);
        var hsmDirectory = Path.Combine(stateDirectory, "hsm");
        var caDirectory = Path.Combine(stateDirectory, "ca");
        var pin = builder.AddParameter(ResourceNames.CaHsmPin, new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
        var soPin = builder.AddParameter(ResourceNames.CaHsmSoPin, new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
        // PINs through the environment, never on a command line (ps shows those).
        var hsm = builder.AddExecutable(ResourceNames.CaHsm, "bash", root, Path.Combine(root, "eng", "local", "softhsm.sh"), hsmDirectory, HsmTokenLabel)
            .WithEnvironment("HEADY_HSM_PIN", pin)
            .WithEnvironment("HEADY_HSM_SO_PIN", soPin)
            .ExcludeFromManifest();
        ca.WithEnvironment("SOFTHSM2_CONF", Path.Combine(hsmDirectory, "softhsm2.conf"))
            .WithEnvironment("CertificateAuthority__Pkcs11__ModulePath", SoftHsmModule)
            .WithEnvironment("CertificateAuthority__Pkcs11__TokenLabel", HsmTokenLabel)
            .WithEnvironment("CertificateAuthority__Pkcs11__Pin", pin)
            .WithEnvironment("CertificateAuthority__StatePath", Path.Combine(caDirectory, "ca.db"))
            .WithEnvironment("CertificateAuthority__TrustBundlePath", Path.Combine(caDirectory, "trust-bundle.pem"))
            .WaitForCompletion(hsm);
        return new MeshAuthority(ca, operatorToken, Path.Combine(caDirectory, "trust-bundle.pem"), null);
    }

    public const string ProbeEndpoint = "probe";

    /// <summary>
    /// Makes the project a mesh workload named after its resource (its SPIFFE ID). Run mode: a fresh single-use join token
    /// minted at every start of the resource (the environment callback runs per start, restarts included) and the CA
    /// bundle as trust anchor. Publish mode: a secret join-token parameter per service, provisioned into the CA too.
    /// With <paramref name="probe"/>, a plain-HTTP port serving only /health and /alive carries the health check, so the
    /// API port can require client certificates.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithMeshIdentity(this IResourceBuilder<ProjectResource> service, MeshAuthority mesh, bool probe = true)
    {
        var name = service.Resource.Name;
        var caHttps = mesh.Ca.GetEndpoint("https");
        service.WithEnvironment("Mesh__ServiceName", name)
            .WithEnvironment("Mesh__CaUrl", caHttps)
            .WaitFor(mesh.Ca);

        if (service.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            var joinToken = service.ApplicationBuilder.AddParameter(name + ResourceNames.JoinTokenSuffix, secret: true);
            service.WithEnvironment("Mesh__JoinToken", joinToken)
                .WithEnvironment("Mesh__TrustAnchors", mesh.TrustAnchors!);
            mesh.Ca.WithEnvironment($"CertificateAuthority__JoinTokens__{name}", joinToken);
        }
        else
        {
            var bundlePath = mesh.TrustBundlePath!;
            service.WithEnvironment(async context =>
            {
                var ct = context.CancellationToken;
                var bundle = await CaClient.TrustBundlePemAsync(bundlePath, ct);
                var operatorToken = await mesh.OperatorToken.Resource.GetValueAsync(ct) ?? throw new InvalidOperationException("ca-operator-token has no value.");
                context.EnvironmentVariables["Mesh__TrustAnchors"] = bundle;
                context.EnvironmentVariables["Mesh__JoinToken"] = await CaClient.MintJoinTokenAsync(new Uri(caHttps.Url), bundle, operatorToken, name, ct);
            });
        }

        if (LeafLifetime(service.ApplicationBuilder) is { } leafLifetime)
        {
            // A pooled connection keeps its handshake's certificate and peers re-check expiry per request: with short
            // lifetimes the 5-minute default would outlive it, so retire connections well within the 30 % left after renewal.
            service.WithEnvironment("Mesh__PooledConnectionLifetime", (leafLifetime / 10).ToString("c", CultureInfo.InvariantCulture));
        }

        if (probe)
        {
            service.WithHttpEndpoint(name: ProbeEndpoint);
            service.WithEnvironment("Mesh__ProbePort", service.GetEndpoint(ProbeEndpoint).Property(EndpointProperty.TargetPort))
                .WithHttpHealthCheck("/health", endpointName: ProbeEndpoint);
        }

        return service;
    }

    private static TimeSpan? LeafLifetime(IDistributedApplicationBuilder builder) =>
        builder.Configuration[LeafLifetimeKey] is { Length: > 0 } text ? TimeSpan.Parse(text, CultureInfo.InvariantCulture) : null;
}
