using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SyncManager.Jobs;

namespace SyncManager.Infrastructure;

internal sealed class JobConfiguration : IEntityTypeConfiguration<Job>
{
    public void Configure(EntityTypeBuilder<Job> builder)
    {
        builder.ToTable("jobs", t => t.HasCheckConstraint("ck_jobs_state",
            "state IN ('pending', 'running', 'succeeded', 'failed', 'dead', 'cancelled')"));
        builder.HasKey(j => j.Id);
        builder.Property(j => j.Id).HasColumnName("id");
        builder.Property(j => j.DefinitionId).HasColumnName("definition_id");
        builder.HasOne<JobDefinition>().WithMany().HasForeignKey(j => j.DefinitionId).OnDelete(DeleteBehavior.Restrict);
        builder.Property(j => j.Type).HasColumnName("type").HasMaxLength(64).IsRequired();
        builder.Property(j => j.Payload).HasColumnName("payload").IsRequired();
        builder.Property(j => j.State).HasColumnName("state").HasMaxLength(16).IsRequired();
        builder.Property(j => j.Trigger).HasColumnName("trigger").HasMaxLength(16).IsRequired();
        builder.Property(j => j.ScheduledFor).HasColumnName("scheduled_for");
        // NULLs are distinct in a unique index: on-demand runs (no occurrence) never collide.
        builder.HasIndex(j => new { j.DefinitionId, j.ScheduledFor }).IsUnique();
        builder.Property(j => j.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(200);
        builder.HasIndex(j => j.IdempotencyKey).IsUnique();
        builder.Property(j => j.Attempt).HasColumnName("attempt");
        builder.Property(j => j.MaxAttempts).HasColumnName("max_attempts");
        builder.Property(j => j.BackoffBaseSeconds).HasColumnName("backoff_base_seconds");
        builder.Property(j => j.BackoffMaxSeconds).HasColumnName("backoff_max_seconds");
        builder.Property(j => j.LeaseSeconds).HasColumnName("lease_seconds");
        builder.Property(j => j.RunAfter).HasColumnName("run_after");
        builder.Property(j => j.LeaseOwner).HasColumnName("lease_owner").HasMaxLength(200);
        builder.Property(j => j.LeaseExpiresAt).HasColumnName("lease_expires_at");
        builder.Property(j => j.HeartbeatAt).HasColumnName("heartbeat_at");
        builder.Property(j => j.CreatedAt).HasColumnName("created_at");
        builder.Property(j => j.StartedAt).HasColumnName("started_at");
        builder.Property(j => j.FinishedAt).HasColumnName("finished_at");
        builder.Property(j => j.CancelRequestedAt).HasColumnName("cancel_requested_at");
        builder.Property(j => j.LastError).HasColumnName("last_error");
        builder.Property(j => j.Result).HasColumnName("result");
        // The claim query: pending and due, oldest first; and the lease reaper: running with an expired lease.
        builder.HasIndex(j => j.RunAfter).HasFilter("state = 'pending'").HasDatabaseName("ix_jobs_pending_run_after");
        builder.HasIndex(j => j.LeaseExpiresAt).HasFilter("state = 'running'").HasDatabaseName("ix_jobs_running_lease");
        builder.HasIndex(j => new { j.State, j.CreatedAt });
        builder.HasMany(j => j.Attempts).WithOne().HasForeignKey(a => a.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}
