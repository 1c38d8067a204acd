using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.Mesh.Tests;

/// <summary>Pure logic: SPIFFE IDs, the renewal schedule, the certificate profile, chain validation rules. No I/O.</summary>
public sealed class MeshUnitTests
{
    [Theory]
    [InlineData("spiffe://headyclouds.internal/service/gateway", true)]
    [InlineData("spiffe://headyclouds.internal/service/heady-me-sync", true)]
    [InlineData("spiffe://headyclouds.internal/service/Gateway", false)]
    [InlineData("spiffe://headyclouds.internal/service/gateway/extra", false)]
    [InlineData("spiffe://headyclouds.internal/user/gateway", false)]
    [InlineData("https://headyclouds.internal/service/gateway", false)]
    [InlineData("spiffe://headyclouds.internal/service/", false)]
    [InlineData("spiffe://headyclouds.internal/service/-x", false)]
    public void SpiffeId_Parsing(string text, bool valid)
    {
        Assert.Equal(valid, SpiffeId.TryParse(text, out var id));
        if (valid)
        {
            Assert.Equal(text, id!.ToString());
        }
    }

    [Fact]
    public void SpiffeId_RequiresExactlyOneUriSan()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 With(params string[] uris)
        {
            var request = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            foreach (var uri in uris)
            {
                san.AddUri(new Uri(uri));
            }

            request.CertificateExtensions.Add(san.Build());
            return request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(1));
        }

        using var none = With();
        using var one = With("spiffe://headyclouds.internal/service/gateway");
        using var two = With("spiffe://headyclouds.internal/service/gateway", "spiffe://headyclouds.internal/service/syncmanager");
        Assert.False(SpiffeId.TryFromCertificate(none, out _, out _));
        Assert.True(SpiffeId.TryFromCertificate(one, out var id, out _));
        Assert.Equal("gateway", id.ServiceName);
        Assert.False(SpiffeId.TryFromCertificate(two, out _, out var error));
        Assert.Contains("2 URI SANs", error);
    }

    [Theory]
    [InlineData(0.0, 0.5)]
    [InlineData(0.5, 0.6)]
    [InlineData(0.999999, 0.7)]
    [InlineData(-1, 0.5)]
    [InlineData(2, 0.7)]
    public void RenewalSchedule_Between50And70Percent(double jitter, double expectedFraction)
    {
        var notBefore = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var notAfter = notBefore.AddHours(24);
        var at = RenewalSchedule.RenewAt(notBefore, notAfter, jitter);
        Assert.Equal(expectedFraction, (at - notBefore) / (notAfter - notBefore), 4);
    }

    [Fact]
    public void RenewalSchedule_JitterSpreadsAFleet()
    {
        var notBefore = DateTimeOffset.UnixEpoch;
        var random = new Random(7);
        var fractions = Enumerable.Range(0, 1000).Select(_ => (RenewalSchedule.RenewAt(notBefore, notBefore.AddHours(24), random.NextDouble()) - notBefore) / TimeSpan.FromHours(24)).ToList();
        Assert.All(fractions, f => Assert.InRange(f, 0.5, 0.7));
        Assert.True(fractions.Max() - fractions.Min() > 0.15);
    }

    [Fact]
    public void RetryDelay_DoublesAndStaysWithinATenthOfWhatIsLeft()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), RenewalSchedule.RetryDelay(TimeSpan.FromSeconds(1), 0, TimeSpan.FromHours(1)));
        Assert.Equal(TimeSpan.FromSeconds(8), RenewalSchedule.RetryDelay(TimeSpan.FromSeconds(1), 3, TimeSpan.FromHours(1)));
        Assert.Equal(TimeSpan.FromSeconds(6), RenewalSchedule.RetryDelay(TimeSpan.FromSeconds(1), 10, TimeSpan.FromSeconds(60)));
        Assert.Equal(TimeSpan.FromMilliseconds(100), RenewalSchedule.RetryDelay(TimeSpan.FromSeconds(1), 10, TimeSpan.Zero));
    }

    [Fact]
    public void WorkloadProfile_SetsItsOwnExtensions_AndCapsAtTheIssuer()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        using var ca = CertificateProfiles.CreateCaCertificate(caKey, 1, now, TimeSpan.FromHours(2));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).PublicKey;
        using var leaf = CertificateProfiles.CreateWorkloadCertificate(publicKey, SpiffeId.ForService("gateway"), ["gateway", "127.0.0.1"], ca, caKey, now, TimeSpan.FromHours(24), TimeSpan.FromSeconds(30), CertificateProfiles.NewSerial());

        Assert.True(leaf.NotAfter <= ca.NotAfter);
        Assert.False(leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, leaf.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["gateway"], san.EnumerateDnsNames());
        Assert.Equal([System.Net.IPAddress.Loopback], san.EnumerateIPAddresses());
        Assert.True(MeshCertificateValidator.Validate(leaf, [ca], MeshCertificateValidator.ServerAuth, out var error), error);
        // Backdated by the skew, capped at a tenth of a short lifetime.
        using var shortLived = CertificateProfiles.CreateWorkloadCertificate(publicKey, SpiffeId.ForService("gateway"), [], ca, caKey, now, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), CertificateProfiles.NewSerial());
        Assert.InRange(shortLived.NotAfter - shortLived.NotBefore, TimeSpan.FromSeconds(10.9), TimeSpan.FromSeconds(11.1));
    }

    [Fact]
    public void Validation_RefusesACaCertificateAsALeaf_AndAnEmptyBundle()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CertificateProfiles.CreateCaCertificate(caKey, 1, DateTimeOffset.UtcNow, TimeSpan.FromHours(2));
        // The CA certificate itself has no serverAuth/clientAuth EKU and is a CA: not a workload.
        Assert.False(MeshCertificateValidator.Validate(ca, [ca], MeshCertificateValidator.ClientAuth, out _));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).PublicKey;
        using var leaf = CertificateProfiles.CreateWorkloadCertificate(publicKey, SpiffeId.ForService("gateway"), [], ca, caKey, DateTimeOffset.UtcNow, TimeSpan.FromHours(1), TimeSpan.Zero, CertificateProfiles.NewSerial());
        Assert.False(MeshCertificateValidator.Validate(leaf, [], MeshCertificateValidator.ClientAuth, out var error));
        Assert.Equal("no trust bundle yet", error);
    }

    [Fact]
    public void JoinToken_HashIsStable_AndTokensAreUnique()
    {
        var a = JoinToken.New();
        var b = JoinToken.New();
        Assert.NotEqual(a, b);
        Assert.StartsWith(JoinToken.Prefix, a);
        Assert.True(a.Length >= 40);
        Assert.Equal(JoinToken.Hash(a), JoinToken.Hash(a));
        Assert.NotEqual(JoinToken.Hash(a), JoinToken.Hash(b));
        Assert.DoesNotContain(a, JoinToken.Hash(a));
    }
}
