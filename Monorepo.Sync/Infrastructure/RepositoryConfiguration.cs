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
    }
}
