using HeadyMe.Sync.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace HeadyMe.Sync.Infrastructure;

internal sealed class WorkspaceMemberConfiguration : IEntityTypeConfiguration<WorkspaceMember>
{
    public void Configure(EntityTypeBuilder<WorkspaceMember> builder)
    {
        builder.ToTable("workspace_members", t => t.HasCheckConstraint("ck_workspace_members_role", "role IN ('owner', 'editor', 'viewer')"));
        builder.HasKey(m => new { m.WorkspaceId, m.UserId });
        builder.Property(m => m.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(m => m.UserId).HasColumnName("user_id");
        builder.Property(m => m.Role).HasColumnName("role").HasMaxLength(16).IsRequired();
        builder.Property(m => m.AddedAt).HasColumnName("added_at");
        // "Which workspaces can this user see" is the hot query.
        builder.HasIndex(m => m.UserId);
    }
}
