using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.Mesh.Tests;

/// <summary>Certificates an attacker could make: self-signed, from another CA, or tampered.</summary>
public static class Certificates
{
    public static X509Certificate2 SelfSigned(string service)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={service}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(SpiffeId.ForService(service).Uri);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([MeshCertificateValidator.ServerAuth, MeshCertificateValidator.ClientAuth], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        return Reload(certificate);
    }

    /// <summary>The same profile as the real CA's, from a different CA key — even with the same CA name.</summary>
    public static X509Certificate2 FromOtherCa(string service, X500DistinguishedName caName, X509Certificate2? otherCa = null, ECDsa? otherCaKey = null)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = otherCaKey ?? caKey;
        var ca = otherCa ?? NewCa(caName, key);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new CertificateRequest("CN=x", leafKey, HashAlgorithmName.SHA256).PublicKey;
        using var leaf = CertificateProfiles.CreateWorkloadCertificate(publicKey, SpiffeId.ForService(service), ["localhost"], ca, key, DateTimeOffset.UtcNow, TimeSpan.FromHours(1), TimeSpan.FromSeconds(30), CertificateProfiles.NewSerial());
        using var withKey = leaf.CopyWithPrivateKey(leafKey);
        return Reload(withKey);
    }

    public static X509Certificate2 NewCa(X500DistinguishedName name, ECDsa key)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.Create(name, X509SignatureGenerator.CreateForECDsa(key), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), CertificateProfiles.NewSerial());
    }

    /// <summary>A genuine certificate with one bit of its signature flipped, still paired with its key.</summary>
    public static X509Certificate2 Tampered(X509Certificate2 genuine)
    {
        var der = genuine.RawData;
        // The signature BIT STRING is the last element: flip a bit inside the ECDSA signature's last integer.
        der[^3] ^= 0x01;
        using var tampered = X509CertificateLoader.LoadCertificate(der);
        using var key = genuine.GetECDsaPrivateKey()!;
        using var withKey = tampered.CopyWithPrivateKey(key);
        return Reload(withKey);
    }

    /// <summary>Through PKCS#12 so that the key is usable by SslStream on every platform.</summary>
    public static X509Certificate2 Reload(X509Certificate2 certificate) =>
        X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
}
