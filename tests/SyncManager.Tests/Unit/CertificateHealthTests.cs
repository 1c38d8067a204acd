using SyncManager.Jobs;

namespace SyncManager.Tests.Unit;

public sealed class CertificateHealthTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void NamesCertificatesWithinTheWarningWindowAndExpiredOnes()
    {
        var result = CertificateHealthHandler.Evaluate(
        [
            new CertificateInfo("gateway", "CN=gateway", Now.AddDays(10)),
            new CertificateInfo("ca", "CN=Heady CA", Now.AddDays(400)),
            new CertificateInfo("old", "CN=old", Now.AddDays(-1)),
        ], Now, warnDays: 30);

        Assert.Equal(2, result.Count);
        Assert.StartsWith("old (CN=old) EXPIRED", result[0]);
        Assert.StartsWith("gateway (CN=gateway) expires", result[1]);
    }

    [Fact]
    public void HealthyCertificatesPass() =>
        Assert.Empty(CertificateHealthHandler.Evaluate([new CertificateInfo("gateway", "CN=gateway", Now.AddDays(31))], Now, 30));
}
