using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SyncManager.Jobs;

namespace SyncManager.Infrastructure;

internal sealed class JobDefinitionConfiguration : IEntityTypeConfiguration<JobDefinition>
{
    public void Configure(EntityTypeBuilder<JobDefinition> builder)
    {
        builder.ToTable("job_definitions");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Id).HasColumnName("id");
        builder.Property(d => d.Name).HasColumnName("name").HasMaxLength(100).IsRequired();
        builder.HasIndex(d => d.Name).IsUnique();
        builder.Property(d => d.Type).HasColumnName("type").HasMaxLength(64).IsRequired();
        builder.Property(d => d.Cron).HasColumnName("cron").HasMaxLength(100);
        builder.Property(d => d.TimeZone).HasColumnName("time_zone").HasMaxLength(64).IsRequired();
        builder.Property(d => d.Enabled).HasColumnName("enabled");
        builder.Property(d => d.Payload).HasColumnName("payload").IsRequired();
        builder.Property(d => d.MaxAttempts).HasColumnName("max_attempts");
        builder.Property(d => d.BackoffBaseSeconds).HasColumnName("backoff_base_seconds");
        builder.Property(d => d.BackoffMaxSeconds).HasColumnName("backoff_max_seconds");
        builder.Property(d => d.LeaseSeconds).HasColumnName("lease_seconds");
        builder.Property(d => d.NextRunAt).HasColumnName("next_run_at");
        builder.HasIndex(d => d.NextRunAt).HasFilter("enabled AND cron IS NOT NULL");
        builder.Property(d => d.CreatedAt).HasColumnName("created_at");
        builder.Property(d => d.UpdatedAt).HasColumnName("updated_at");
    }
}
