using System.Security.Cryptography.X509Certificates;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// What a workload presents and trusts: its current certificate (with private key) and the internal CA bundle.
/// Readers take the properties at every handshake, so a renewal or a CA rollover applies to the next connection
/// without a restart.
/// </summary>
public interface IMeshCredentials
{
    /// <summary>The current certificate with its private key; null until the first issuance.</summary>
    X509Certificate2? Current { get; }

    /// <summary>Every CA certificate currently trusted (more than one during a rollover). Never the system store.</summary>
    X509Certificate2Collection TrustBundle { get; }

    /// <summary>Raised after <see cref="Current"/> or <see cref="TrustBundle"/> changed.</summary>
    event Action? Changed;
}

/// <summary>Fixed credentials (benchmarks, tests, tools that hold a certificate issued elsewhere).</summary>
public sealed class StaticMeshCredentials(X509Certificate2? current, X509Certificate2Collection trustBundle) : IMeshCredentials
{
    private volatile X509Certificate2? current = current;
    private volatile X509Certificate2Collection trustBundle = trustBundle;

    public X509Certificate2? Current => current;

    public X509Certificate2Collection TrustBundle => trustBundle;

    public event Action? Changed;

    public void Update(X509Certificate2? certificate, X509Certificate2Collection? bundle = null)
    {
        current = certificate;
        if (bundle is not null)
        {
            trustBundle = bundle;
        }

        Changed?.Invoke();
    }
}
