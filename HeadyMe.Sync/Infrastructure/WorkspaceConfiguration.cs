using HeadyMe.Sync.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace HeadyMe.Sync.Infrastructure;

internal sealed class WorkspaceConfiguration : IEntityTypeConfiguration<Workspace>
{
    public void Configure(EntityTypeBuilder<Workspace> builder)
    {
        builder.ToTable("workspaces");
        builder.HasKey(w => w.Id);
        builder.Property(w => w.Id).HasColumnName("id");
        builder.Property(w => w.Name).HasColumnName("name").HasMaxLength(100).IsRequired();
        builder.Property(w => w.NormalizedName).HasColumnName("normalized_name").HasMaxLength(100).IsRequired();
        builder.Property(w => w.OwnerId).HasColumnName("owner_id");
        builder.Property(w => w.CreatedAt).HasColumnName("created_at");
        builder.Property(w => w.ChangeSeq).HasColumnName("change_seq");
        builder.Property(w => w.UsedBytes).HasColumnName("used_bytes");
        builder.Property(w => w.KeepVersions).HasColumnName("keep_versions");
        builder.Property(w => w.KeepDays).HasColumnName("keep_days");
        builder.HasIndex(w => new { w.OwnerId, w.NormalizedName }).IsUnique();
        builder.HasMany(w => w.Members).WithOne().HasForeignKey(m => m.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
