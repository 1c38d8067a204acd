using HeadyClouds.AppHost.DataTier;
using Microsoft.Extensions.Configuration;

namespace HeadyClouds.AppHost.Tests;

public sealed class DataTierTests
{
    private static IConfiguration Config(string? mode) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [DataTierModeResolver.ConfigurationKey] = mode }).Build();

    [Theory]
    [InlineData(null, true, DataTierMode.Containers)]
    [InlineData(null, false, DataTierMode.Local)]
    [InlineData("auto", true, DataTierMode.Containers)]
    [InlineData("auto", false, DataTierMode.Local)]
    [InlineData("local", true, DataTierMode.Local)]
    [InlineData("LOCAL", true, DataTierMode.Local)]
    [InlineData("containers", false, DataTierMode.Containers)]
    public void Mode_follows_the_switch_then_the_container_runtime(string? configured, bool runtimeHealthy, DataTierMode expected) =>
        Assert.Equal(expected, DataTierModeResolver.Resolve(Config(configured), isPublishMode: false, () => runtimeHealthy));

    [Fact]
    public void Publishing_always_describes_containers() =>
        Assert.Equal(DataTierMode.Containers, DataTierModeResolver.Resolve(Config("local"), isPublishMode: true, () => false));

    [Fact]
    public void An_unknown_mode_is_refused_with_the_choices() =>
        Assert.Contains("'auto', 'local' or 'containers'",
            Assert.Throws<InvalidOperationException>(() => DataTierModeResolver.Resolve(Config("kubernetes"), false, () => true)).Message,
            StringComparison.Ordinal);

    [Fact]
    public void Missing_local_prerequisites_are_named_with_how_to_install()
    {
        var root = Path.Combine(Path.GetTempPath(), "no-repo-" + Guid.NewGuid().ToString("N"));
        var missing = LocalPrerequisites.Missing(root);
        Assert.Contains(missing, m => m.Contains("s3rver", StringComparison.Ordinal));
        var error = Assert.Throws<Aspire.Hosting.DistributedApplicationException>(() => LocalPrerequisites.EnsurePresent(root));
        Assert.Contains("eng/install-deps.sh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hardening_applies_limits_and_drops_privileges()
    {
        var args = ContainerHardening.Redis.RuntimeArguments().ToArray();
        Assert.Contains("--memory=512m", args);
        Assert.Contains("--cpus=0.3", args);
        Assert.Contains("--pids-limit=64", args);
        Assert.Contains("--cap-drop=ALL", args);
        Assert.Contains("--security-opt=no-new-privileges", args);
        Assert.Contains("--read-only", args);
        Assert.Contains("--user=999:1000", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--cap-add", StringComparison.Ordinal));

        var postgres = ContainerHardening.Postgres.RuntimeArguments().ToArray();
        Assert.Contains("--memory=2g", postgres);
        Assert.Contains("--tmpfs=/var/run/postgresql:rw,noexec,nosuid,size=64m", postgres);
    }

    [Fact]
    public void State_directory_for_root_is_reachable_by_the_postgres_user()
    {
        var configured = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [DataTierExtensions.StateDirectoryKey] = "/tmp/x/../y" }).Build();
        Assert.Equal("/tmp/y", DataTierExtensions.StateDirectory(configured));
        if (Environment.UserName == "root")
        {
            Assert.False(DataTierExtensions.StateDirectory(new ConfigurationBuilder().Build()).StartsWith("/root", StringComparison.Ordinal));
        }
    }
}
