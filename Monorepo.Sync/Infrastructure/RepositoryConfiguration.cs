using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Monorepo.Sync.Domain;

namespace Monorepo.Sync.Infrastructure;

internal sealed class RepositoryConfiguration : IEntityTypeConfiguration<Repository>
{
    public void Configure(EntityTypeBuilder<Repository> builder)
    {
        builder.ToTable("repositories");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).HasColumnName("id");
        builder.Property(r => r.Name).HasColumnName("name").HasMaxLength(100).IsRequired();
        builder.Property(r => r.NormalizedName).HasColumnName("normalized_name").HasMaxLength(100).IsRequired();
        builder.Property(r => r.OwnerId).HasColumnName("owner_id");
        builder.Property(r => r.SourceUrl).HasColumnName("source_url").HasMaxLength(2048).IsRequired();
        builder.Property(r => r.DefaultBranch).HasColumnName("default_branch").HasMaxLength(255);
        builder.Property(r => r.CreatedAt).HasColumnName("created_at");
        builder.HasIndex(r => new { r.OwnerId, r.NormalizedName }).IsUnique();
        builder.Property(r => r.IncludeRefs).HasColumnName("include_refs").IsRequired();
        builder.Property(r => r.ExcludeRefs).HasColumnName("exclude_refs").IsRequired();
        builder.Property(r => r.SourceCredential).HasColumnName("source_credential");
        builder.Property(r => r.SourceCredentialKind).HasColumnName("source_credential_kind").HasMaxLength(32);
        builder.Property(r => r.WebhookSecret).HasColumnName("webhook_secret").IsRequired();
        builder.Property(r => r.LastRunAt).HasColumnName("last_run_at");
        builder.Property(r => r.LastSuccessAt).HasColumnName("last_success_at");
        builder.Property(r => r.LastError).HasColumnName("last_error").HasMaxLength(4000);
        builder.Property(r => r.ConsecutiveFailures).HasColumnName("consecutive_failures");
        builder.Property(r => r.NextAttemptAfter).HasColumnName("next_attempt_after");
        builder.HasMany(r => r.Targets).WithOne().HasForeignKey(t => t.RepositoryId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(r => r.Splits).WithOne().HasForeignKey(t => t.RepositoryId).OnDelete(DeleteBehavior.Cascade);
    }
}
