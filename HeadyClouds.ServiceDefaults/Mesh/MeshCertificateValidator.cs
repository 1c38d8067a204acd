using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// Chain validation against the internal CA bundle only: <see cref="X509ChainTrustMode.CustomRootTrust"/> (the default
/// System mode would ignore a custom store and accept anything the OS trusts), no revocation lookup (revocation is
/// passive: revoked certificates cannot renew and expire within a lifetime), and the EKU the role needs.
/// </summary>
public static class MeshCertificateValidator
{
    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    public static bool Validate(X509Certificate2 certificate, X509Certificate2Collection trustBundle, Oid usage, out string error, DateTime? at = null)
    {
        if (trustBundle.Count == 0)
        {
            error = "no trust bundle yet";
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trustBundle);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(usage);
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (at is not null)
        {
            chain.ChainPolicy.VerificationTime = at.Value;
            chain.ChainPolicy.VerificationTimeIgnored = false;
        }

        if (!chain.Build(certificate))
        {
            error = string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"));
            return false;
        }

        // Leaf → root with nothing in between: the mesh issues from the root directly; anything longer is not ours.
        if (chain.ChainElements.Count != 2 || !trustBundle.Contains(chain.ChainElements[^1].Certificate))
        {
            error = "the chain does not end at an internal CA certificate";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>
    /// For <see cref="RemoteCertificateValidationCallback"/> on the client side: the server's certificate must chain to
    /// the bundle, match the host name, and (when given) carry the expected service's SPIFFE ID.
    /// </summary>
    public static bool ValidateServer(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection trustBundle, string? expectedService, out string error)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            error = "the server presented no certificate";
            return false;
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            error = "the server certificate does not name the host";
            return false;
        }

        // RemoteCertificateChainErrors is expected (the internal CA is not in the system store): the chain is rebuilt
        // here against the bundle only.
        var server = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        if (!Validate(server, trustBundle, ServerAuth, out error))
        {
            return false;
        }

        if (expectedService is not null)
        {
            if (!SpiffeId.TryFromCertificate(server, out var id, out error))
            {
                return false;
            }

            if (id.ServiceName != expectedService)
            {
                error = $"the server is '{id}', expected service '{expectedService}'";
                return false;
            }
        }

        return true;
    }
}
