using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using SyncManager.Infrastructure;

namespace SyncManager.Jobs;

/// <summary>
/// Job metrics (meter <see cref="MeterName"/>, exported by the service defaults' OpenTelemetry as
/// <c>heady_jobs_*</c>): durations, failures and dead letters as they happen; queue depth, oldest pending age,
/// dead letters and expired leases from a periodic snapshot of the queue (<see cref="SampleAsync"/>).
/// </summary>
public sealed class JobMetrics
{
    public const string MeterName = "HeadyClouds.SyncManager";

    private readonly Histogram<double> duration;
    private readonly Counter<long> failures;
    private readonly Counter<long> deadLettered;
    private QueueSnapshot? snapshot;

    public JobMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        duration = meter.CreateHistogram<double>("heady.jobs.duration", "s", "Duration of job attempts by type and outcome");
        failures = meter.CreateCounter<long>("heady.jobs.failures", description: "Failed job attempts by type");
        deadLettered = meter.CreateCounter<long>("heady.jobs.dead_lettered", description: "Jobs moved to the dead letters by type");
        meter.CreateObservableGauge("heady.jobs.queue_depth", () => Observe(s => s.PendingDue), description: "Pending jobs that are due now");
        meter.CreateObservableGauge("heady.jobs.oldest_pending_age", () => Observe(s => s.OldestPendingAgeSeconds), "s", "Age of the oldest due pending job");
        meter.CreateObservableGauge("heady.jobs.dead_letters", () => Observe(s => s.Dead), description: "Jobs in the dead letters");
        meter.CreateObservableGauge("heady.jobs.expired_leases", () => Observe(s => s.ExpiredLeases), description: "Running jobs whose lease expired (stuck)");
        meter.CreateObservableGauge("heady.jobs.longest_running", () => Observe(s => s.LongestRunningSeconds), "s", "How long the longest running job has been running");
    }

    public QueueSnapshot? Snapshot => snapshot;

    public void Finished(string type, string outcome, TimeSpan elapsed) =>
        duration.Record(elapsed.TotalSeconds, new("job.type", type), new("job.outcome", outcome));

    public void Failed(string type) => failures.Add(1, new KeyValuePair<string, object?>("job.type", type));

    public void DeadLettered(string type) => deadLettered.Add(1, new KeyValuePair<string, object?>("job.type", type));

    public async Task<QueueSnapshot> SampleAsync(SyncManagerDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        var rows = await db.Database.SqlQuery<QueueSnapshotRow>($"""
            SELECT
                count(*) FILTER (WHERE state = 'pending' AND run_after <= {now})::int AS "PendingDue",
                min(run_after) FILTER (WHERE state = 'pending' AND run_after <= {now}) AS "OldestPending",
                count(*) FILTER (WHERE state = 'dead')::int AS "Dead",
                count(*) FILTER (WHERE state = 'running' AND lease_expires_at < {now})::int AS "ExpiredLeases",
                min(started_at) FILTER (WHERE state = 'running') AS "OldestRunningStart"
            FROM jobs
            """).ToListAsync(ct);
        var r = rows[0];
        var s = new QueueSnapshot(r.PendingDue, r.OldestPending is { } o ? Math.Max(0, (now - o).TotalSeconds) : 0, r.Dead, r.ExpiredLeases,
            r.OldestRunningStart is { } st ? Math.Max(0, (now - st).TotalSeconds) : 0);
        snapshot = s;
        return s;
    }

    private IEnumerable<Measurement<double>> Observe(Func<QueueSnapshot, double> value) =>
        snapshot is { } s ? [new Measurement<double>(value(s))] : [];

    private sealed record QueueSnapshotRow(int PendingDue, DateTimeOffset? OldestPending, int Dead, int ExpiredLeases, DateTimeOffset? OldestRunningStart);
}

public sealed record QueueSnapshot(int PendingDue, double OldestPendingAgeSeconds, int Dead, int ExpiredLeases, double LongestRunningSeconds);
