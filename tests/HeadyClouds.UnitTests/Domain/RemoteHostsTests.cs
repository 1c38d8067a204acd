using System.Net;
using Monorepo.Sync.Domain;

namespace HeadyClouds.UnitTests.Domain;

public sealed class RemoteHostsTests
{
    [Theory]
    [InlineData("https://git.example.com/org/repo.git", "git.example.com")]
    [InlineData("ssh://git@git.example.com:2222/org/repo.git", "git.example.com")]
    [InlineData("git@git.example.com:org/repo.git", "git.example.com")]
    [InlineData("https://[::1]:8443/repo.git", "::1")]
    [InlineData("/srv/git/repo.git", null)]
    [InlineData("file:///srv/git/repo.git", null)]
    public void The_host_a_url_connects_to(string url, string? host) => Assert.Equal(host, RemoteHosts.HostOf(url));

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    public void Addresses_of_the_platforms_own_networks_are_internal(string address) =>
        Assert.True(RemoteHosts.IsInternal(IPAddress.Parse(address)), address);

    [Theory]
    [InlineData("140.82.112.3")]
    [InlineData("172.32.0.1")]
    [InlineData("172.15.255.255")]
    [InlineData("100.128.0.1")]
    [InlineData("8.8.8.8")]
    [InlineData("2606:4700::6810:85e5")]
    [InlineData("::ffff:140.82.112.3")]
    public void Public_addresses_are_not(string address) =>
        Assert.False(RemoteHosts.IsInternal(IPAddress.Parse(address)), address);

    [Theory]
    [InlineData("https://127.0.0.1/repo.git")]
    [InlineData("https://localhost/repo.git")]
    [InlineData("https://mirror.localhost/repo.git")]
    [InlineData("git@10.0.0.7:org/repo.git")]
    public async Task Internal_hosts_are_refused_unless_the_operator_allows_them(string url)
    {
        Assert.Contains("platform's own network", await RemoteHosts.CheckAsync(url, allowPrivateNetwork: false, CancellationToken.None), StringComparison.Ordinal);
        Assert.Null(await RemoteHosts.CheckAsync(url, allowPrivateNetwork: true, CancellationToken.None));
    }

    [Fact]
    public async Task Public_literals_and_local_paths_pass() // no DNS involved
    {
        Assert.Null(await RemoteHosts.CheckAsync("https://140.82.112.3/org/repo.git", false, CancellationToken.None));
        Assert.Null(await RemoteHosts.CheckAsync("/srv/git/repo.git", false, CancellationToken.None));
    }
}
