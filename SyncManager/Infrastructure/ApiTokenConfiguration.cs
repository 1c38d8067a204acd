using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SyncManager.Domain;

namespace SyncManager.Infrastructure;

internal sealed class ApiTokenConfiguration : IEntityTypeConfiguration<ApiToken>
{
    public void Configure(EntityTypeBuilder<ApiToken> builder)
    {
        builder.ToTable("api_tokens");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).HasColumnName("id");
        builder.Property(t => t.UserId).HasColumnName("user_id");
        builder.Property(t => t.Name).HasColumnName("name").HasMaxLength(100).IsRequired();
        builder.Property(t => t.Prefix).HasColumnName("prefix").HasMaxLength(16).IsRequired();
        builder.Property(t => t.Hash).HasColumnName("hash").IsRequired();
        builder.HasIndex(t => t.Hash).IsUnique();
        builder.Property(t => t.Scopes).HasColumnName("scopes").IsRequired();
        builder.Property(t => t.CreatedAt).HasColumnName("created_at");
        builder.Property(t => t.ExpiresAt).HasColumnName("expires_at");
        builder.Property(t => t.RevokedAt).HasColumnName("revoked_at");
        builder.HasIndex(t => new { t.UserId, t.Name });
    }
}
