using HeadyMe.Sync.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace HeadyMe.Sync.Infrastructure;

internal sealed class UserQuotaConfiguration : IEntityTypeConfiguration<UserQuota>
{
    public void Configure(EntityTypeBuilder<UserQuota> builder)
    {
        // Read by every quota check (by primary key, in the commit's transaction): see FileStore.OwnerQuotaAsync.
        builder.ToTable("user_quotas", t => t.HasCheckConstraint("ck_user_quotas_limit_bytes", "limit_bytes >= 0"));
        builder.HasKey(q => q.UserId);
        builder.Property(q => q.UserId).HasColumnName("user_id").ValueGeneratedNever();
        builder.Property(q => q.LimitBytes).HasColumnName("limit_bytes");
        builder.Property(q => q.UpdatedAt).HasColumnName("updated_at");
        builder.Property(q => q.UpdatedBy).HasColumnName("updated_by");
    }
}
