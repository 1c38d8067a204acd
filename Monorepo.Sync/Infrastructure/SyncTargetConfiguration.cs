using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Monorepo.Sync.Domain;

namespace Monorepo.Sync.Infrastructure;

internal sealed class SyncTargetConfiguration : IEntityTypeConfiguration<SyncTarget>
{
    public void Configure(EntityTypeBuilder<SyncTarget> builder)
    {
        builder.ToTable("sync_targets");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).HasColumnName("id");
        builder.Property(t => t.RepositoryId).HasColumnName("repository_id");
        builder.Property(t => t.Name).HasColumnName("name").HasMaxLength(100).IsRequired();
        builder.Property(t => t.Url).HasColumnName("url").HasMaxLength(2048).IsRequired();
        builder.Property(t => t.Credential).HasColumnName("credential");
        builder.Property(t => t.CredentialKind).HasColumnName("credential_kind").HasMaxLength(32);
        builder.Property(t => t.ProtectedRefs).HasColumnName("protected_refs").IsRequired();
        builder.Property(t => t.CreatedAt).HasColumnName("created_at");
        builder.Property(t => t.LastSuccessAt).HasColumnName("last_success_at");
        builder.Property(t => t.LastError).HasColumnName("last_error").HasMaxLength(4000);
        builder.Property(t => t.RefusedRefs).HasColumnName("refused_refs");
        builder.Property(t => t.LagCommits).HasColumnName("lag_commits");
        builder.HasIndex(t => new { t.RepositoryId, t.Name }).IsUnique();
    }
}

internal sealed class SplitTargetConfiguration : IEntityTypeConfiguration<SplitTarget>
{
    public void Configure(EntityTypeBuilder<SplitTarget> builder)
    {
        builder.ToTable("split_targets");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).HasColumnName("id");
        builder.Property(t => t.RepositoryId).HasColumnName("repository_id");
        builder.Property(t => t.Name).HasColumnName("name").HasMaxLength(100).IsRequired();
        builder.Property(t => t.Prefix).HasColumnName("prefix").HasMaxLength(1024).IsRequired();
        builder.Property(t => t.SourceRef).HasColumnName("source_ref").HasMaxLength(255).IsRequired();
        builder.Property(t => t.Url).HasColumnName("url").HasMaxLength(2048).IsRequired();
        builder.Property(t => t.TargetRef).HasColumnName("target_ref").HasMaxLength(255).IsRequired();
        builder.Property(t => t.Credential).HasColumnName("credential");
        builder.Property(t => t.CredentialKind).HasColumnName("credential_kind").HasMaxLength(32);
        builder.Property(t => t.LastSplitHead).HasColumnName("last_split_head").HasMaxLength(64);
        builder.Property(t => t.CreatedAt).HasColumnName("created_at");
        builder.Property(t => t.LastSuccessAt).HasColumnName("last_success_at");
        builder.Property(t => t.LastError).HasColumnName("last_error").HasMaxLength(4000);
        builder.HasIndex(t => new { t.RepositoryId, t.Name }).IsUnique();
    }
}

internal sealed class SplitMapEntryConfiguration : IEntityTypeConfiguration<SplitMapEntry>
{
    public void Configure(EntityTypeBuilder<SplitMapEntry> builder)
    {
        builder.ToTable("split_map");
        builder.HasKey(e => new { e.SplitTargetId, e.SourceCommit });
        builder.Property(e => e.SplitTargetId).HasColumnName("split_target_id");
        builder.Property(e => e.SourceCommit).HasColumnName("source_commit").HasMaxLength(64);
        builder.Property(e => e.SplitCommit).HasColumnName("split_commit").HasMaxLength(64);
        builder.HasOne<SplitTarget>().WithMany().HasForeignKey(e => e.SplitTargetId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class SyncRunConfiguration : IEntityTypeConfiguration<SyncRun>
{
    public void Configure(EntityTypeBuilder<SyncRun> builder)
    {
        builder.ToTable("sync_runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).HasColumnName("id");
        builder.Property(r => r.RepositoryId).HasColumnName("repository_id");
        builder.Property(r => r.Trigger).HasColumnName("trigger").HasMaxLength(32);
        builder.Property(r => r.StartedAt).HasColumnName("started_at");
        builder.Property(r => r.FinishedAt).HasColumnName("finished_at");
        builder.Property(r => r.Outcome).HasColumnName("outcome").HasMaxLength(16);
        builder.Property(r => r.Error).HasColumnName("error").HasMaxLength(4000);
        builder.Property(r => r.RefsUpdated).HasColumnName("refs_updated");
        builder.Property(r => r.RefsRefused).HasColumnName("refs_refused");
        builder.HasIndex(r => new { r.RepositoryId, r.StartedAt });
        builder.HasOne<Repository>().WithMany().HasForeignKey(r => r.RepositoryId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RefUpdateAuditConfiguration : IEntityTypeConfiguration<RefUpdateAudit>
{
    public void Configure(EntityTypeBuilder<RefUpdateAudit> builder)
    {
        builder.ToTable("ref_update_audit");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).HasColumnName("id").UseIdentityAlwaysColumn();
        builder.Property(a => a.RepositoryId).HasColumnName("repository_id");
        builder.Property(a => a.RunId).HasColumnName("run_id");
        builder.Property(a => a.Target).HasColumnName("target").HasMaxLength(100);
        builder.Property(a => a.Ref).HasColumnName("ref").HasMaxLength(255);
        builder.Property(a => a.OldId).HasColumnName("old_id").HasMaxLength(64);
        builder.Property(a => a.NewId).HasColumnName("new_id").HasMaxLength(64);
        builder.Property(a => a.Kind).HasColumnName("kind").HasMaxLength(32);
        builder.Property(a => a.Forced).HasColumnName("forced");
        builder.Property(a => a.Trigger).HasColumnName("trigger").HasMaxLength(32);
        builder.Property(a => a.Message).HasColumnName("message").HasMaxLength(2000);
        builder.Property(a => a.At).HasColumnName("at");
        // No foreign key: the audit outlives what it describes (a deleted repository keeps its history).
        builder.HasIndex(a => new { a.RepositoryId, a.Id });
    }
}
