using HeadyClouds.CertificateAuthority.Domain;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace HeadyClouds.Mesh.Tests;

public sealed class InsecureKeyTests(InsecureCaFixture ca) : IClassFixture<InsecureCaFixture>
{
    [Fact]
    public async Task SoftwareKey_OnlyBehindTheFlag_WarnsAtStart_AndSaysItIsNotInAToken()
    {
        Assert.Contains(ca.Logs, line => line.Contains("INSECURE", StringComparison.Ordinal) && line.Contains("InsecureSoftwareKey", StringComparison.Ordinal));
        var attributes = ca.Keys.Describe(ca.Authority.Active().KeyLabel);
        Assert.False(attributes.OnToken);
        Assert.True(attributes.Extractable);
        // It still works as a CA.
        using var certificate = await ca.EnrollAsync("gateway");
        Assert.Equal(ca.Authority.Active().Certificate.Subject, certificate.Issuer);
    }
}

public sealed class KeyConfigurationTests
{
    [Fact]
    public void WithoutPkcs11Settings_AndWithoutTheInsecureFlag_TheCaRefusesToStart()
    {
        using var factory = new WebApplicationFactory<Authority>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("CertificateAuthority:StatePath", Path.Combine(Path.GetTempPath(), "heady-ca-" + Guid.NewGuid().ToString("N"), "ca.db"));
            builder.UseSetting("CertificateAuthority:OperatorToken", new string('o', 40));
            builder.UseSetting("CertificateAuthority:Pkcs11:TokenLabel", "");
        });
        var error = Assert.ThrowsAny<Exception>(() => factory.Services);
        Assert.Contains("PKCS#11", error.ToString());
    }

    [Fact]
    public void WithAShortOperatorToken_TheCaRefusesToStart()
    {
        using var factory = new WebApplicationFactory<Authority>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("CertificateAuthority:StatePath", Path.Combine(Path.GetTempPath(), "heady-ca-" + Guid.NewGuid().ToString("N"), "ca.db"));
            builder.UseSetting("CertificateAuthority:OperatorToken", "short");
            builder.UseSetting("CertificateAuthority:InsecureSoftwareKey", "true");
        });
        var error = Assert.ThrowsAny<Exception>(() => factory.Services);
        Assert.Contains("OperatorToken", error.ToString());
    }
}
