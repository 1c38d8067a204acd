using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.CertificateAuthority.Domain;

/// <summary>What the CA puts in certificates. Pure: keys and signer come in, certificates go out.</summary>
public static class CertificateProfiles
{
    public static X509Certificate2 CreateCaCertificate(ECDsa key, long generation, DateTimeOffset now, TimeSpan lifetime)
    {
        var request = new CertificateRequest($"CN=HeadyClouds internal CA {generation}, O=HeadyClouds", key, HashAlgorithmName.SHA256);
        // Path length 0: this CA signs workloads only, never another CA.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now.AddMinutes(-5), now + lifetime, NewSerial());
    }

    /// <summary>
    /// Parses a PKCS#10 CSR (PEM) and checks its self-signature and key; everything else it asks for (subject,
    /// extensions, SANs, CA flag) is ignored because <see cref="CreateWorkloadCertificate"/> sets its own.
    /// </summary>
    public static bool TryReadCsr(string? pem, out PublicKey? publicKey, out string error)
    {
        publicKey = null;
        if (string.IsNullOrWhiteSpace(pem) || pem.Length > 16_384)
        {
            error = "csr must be a PEM-encoded PKCS#10 certificate signing request.";
            return false;
        }

        CertificateRequest request;
        try
        {
            // Default load options verify the CSR's signature: the requester holds the private key.
            request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException e)
        {
            error = $"csr is not a valid, correctly self-signed PKCS#10 request: {e.Message}";
            return false;
        }

        var key = request.PublicKey;
        using var ec = key.GetECDsaPublicKey();
        using var rsa = key.GetRSAPublicKey();
        if (ec is not null ? ec.KeySize is not (256 or 384) : rsa is null || rsa.KeySize < 2048)
        {
            error = "csr key must be EC P-256/P-384 or RSA of at least 2048 bits.";
            return false;
        }

        publicKey = key;
        error = "";
        return true;
    }

    public static X509Certificate2 CreateWorkloadCertificate(
        PublicKey publicKey, SpiffeId id, IEnumerable<string> dnsNames, X509Certificate2 issuer, ECDsa issuerKey,
        DateTimeOffset now, TimeSpan lifetime, TimeSpan clockSkew, byte[] serial)
    {
        var request = new CertificateRequest(new X500DistinguishedName($"CN={id.ServiceName}"), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var usage = publicKey.GetRSAPublicKey() is null ? X509KeyUsageFlags.DigitalSignature : X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment;
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([MeshCertificateValidator.ServerAuth, MeshCertificateValidator.ClientAuth], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(id.Uri);
        foreach (var name in dnsNames)
        {
            if (System.Net.IPAddress.TryParse(name, out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build(false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        var skew = clockSkew < lifetime / 10 ? clockSkew : lifetime / 10;
        var notAfter = now + lifetime;
        // Never past the issuer: a chain is only as valid as its CA.
        if (notAfter > issuer.NotAfter.ToUniversalTime())
        {
            notAfter = issuer.NotAfter.ToUniversalTime();
        }

        return request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), now - skew, notAfter, serial);
    }

    /// <summary>16 random bytes, positive (RFC 5280: serials are positive, at most 20 octets).</summary>
    public static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x01;
        return serial;
    }

    public static string SerialText(byte[] serial) => Convert.ToHexString(serial);

    public static BigInteger SerialNumber(byte[] serial) => new(serial, isUnsigned: true, isBigEndian: true);
}
