using Microsoft.EntityFrameworkCore;
using SyncManager.Infrastructure;

namespace SyncManager.Jobs;

/// <summary>
/// Definitions the migration step creates when missing (never overwritten: admins may edit them).
/// Key rotation: cron cannot say "every 90 days", so it runs quarterly (1 Jan/Apr/Jul/Oct), 90-92 days apart.
/// </summary>
public static class DefaultJobs
{
    public static readonly (string Name, string Type, string? Cron, bool Enabled, int MaxAttempts, string Payload)[] All =
    [
        ("key-rotation", JobTypes.KeyRotation, "0 3 1 1,4,7,10 *", true, 5, "{}"),
        ("workspace-maintenance", JobTypes.WorkspaceMaintenance, "30 2 * * *", true, 5, "{}"),
        ("certificate-health", JobTypes.CertificateHealth, "0 6 * * *", true, 1, "{\"warnDays\":30}"),
        ("audit-verify", JobTypes.AuditVerify, "15 * * * *", true, 1, "{}"),
        // Daily platform backup (docs/backup.md); a run without backup configuration goes to the dead letters at once.
        ("backup", JobTypes.Backup, "0 1 * * *", true, 3, "{}"),
    ];

    public static async Task SeedAsync(IServiceProvider services, SyncManagerDbContext db, CancellationToken ct)
    {
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var now = time.GetUtcNow();
        var existing = await db.JobDefinitions.Select(d => d.Name).ToListAsync(ct);
        foreach (var (name, type, cron, enabled, maxAttempts, payload) in All.Where(d => !existing.Contains(d.Name)))
        {
            var definition = new JobDefinition
            {
                Id = Guid.CreateVersion7(),
                Name = name,
                Type = type,
                Cron = cron,
                TimeZone = "UTC",
                Enabled = enabled,
                MaxAttempts = maxAttempts,
                Payload = payload,
                CreatedAt = now,
                UpdatedAt = now,
            };
            definition.NextRunAt = CronSchedule.NextRunFor(definition, now);
            db.JobDefinitions.Add(definition);
        }

        await db.SaveChangesAsync(ct);
    }
}
