using HeadyClouds.AppHost.Mesh;

namespace HeadyClouds.AppHost.Tests;

/// <summary>
/// A stack of its own whose workload certificates live one minute, so renewals (at 50–70 %) happen within a test, and
/// whose resources may be restarted without disturbing the shared stack's tests.
/// </summary>
public sealed class RotationStackFixture : StackFixture
{
    public static readonly TimeSpan LeafLifetime = TimeSpan.FromSeconds(60);

    // Two busy cores: every workload enrolls at start and may already renew before the gateway is healthy.
    protected override TimeSpan StartTimeout => TimeSpan.FromMinutes(6);

    protected override IEnumerable<string> ExtraArguments => [$"--{MeshResources.LeafLifetimeKey}={LeafLifetime:c}"];
}

/// <summary>
/// Run alone, after the parallel collections: it restarts resources and keeps traffic flowing for minutes, and a second
/// stack beside the shared one would double the load on two cores. (A restart here used to fail with "Failed to stop
/// resource": no collector listens in tests, and a service took 15 s to stop while its OTLP exporters retried. See
/// TelemetryShutdown in the service defaults.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RotationStackCollection : ICollectionFixture<RotationStackFixture>
{
    public const string Name = "rotation-stack";
}
