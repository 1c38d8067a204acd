using System.Diagnostics.Metrics;

namespace SyncManager.Audit;

/// <summary>Audit-chain health for the alert rules: 1 valid, 0 broken, absent until the first verification.</summary>
public sealed class AuditMetrics
{
    private int state = -1;

    public AuditMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Jobs.JobMetrics.MeterName);
        meter.CreateObservableGauge("heady.audit.chain_valid", () =>
            state < 0 ? [] : new[] { new Measurement<int>(state) }, description: "1 when the last audit-chain verification passed, 0 when it found a broken entry");
        Appended = meter.CreateCounter<long>("heady.audit.appended", description: "Audit entries appended");
    }

    public Counter<long> Appended { get; }

    public void ChainVerified(bool valid) => state = valid ? 1 : 0;
}
