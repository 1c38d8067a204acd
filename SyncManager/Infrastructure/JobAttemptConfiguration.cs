using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SyncManager.Jobs;

namespace SyncManager.Infrastructure;

internal sealed class JobAttemptConfiguration : IEntityTypeConfiguration<JobAttempt>
{
    public void Configure(EntityTypeBuilder<JobAttempt> builder)
    {
        builder.ToTable("job_attempts");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).HasColumnName("id").UseIdentityAlwaysColumn();
        builder.Property(a => a.JobId).HasColumnName("job_id");
        builder.Property(a => a.Attempt).HasColumnName("attempt");
        builder.HasIndex(a => new { a.JobId, a.Attempt }).IsUnique();
        builder.Property(a => a.Worker).HasColumnName("worker").HasMaxLength(200).IsRequired();
        builder.Property(a => a.StartedAt).HasColumnName("started_at");
        builder.Property(a => a.FinishedAt).HasColumnName("finished_at");
        builder.Property(a => a.Outcome).HasColumnName("outcome").HasMaxLength(16).IsRequired();
        builder.Property(a => a.Error).HasColumnName("error");
    }
}
