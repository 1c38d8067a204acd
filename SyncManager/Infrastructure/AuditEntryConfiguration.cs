using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using SyncManager.Audit;

namespace SyncManager.Infrastructure;

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_log");
        builder.HasKey(e => e.Seq);
        // Assigned under the append lock (previous + 1), so the chain order is the sequence order without gaps.
        builder.Property(e => e.Seq).HasColumnName("seq").ValueGeneratedNever();
        builder.Property(e => e.At).HasColumnName("at");
        builder.Property(e => e.Actor).HasColumnName("actor").HasMaxLength(200).IsRequired();
        builder.Property(e => e.Service).HasColumnName("service").HasMaxLength(100).IsRequired();
        builder.Property(e => e.EventType).HasColumnName("event_type").HasMaxLength(100).IsRequired();
        builder.Property(e => e.Subject).HasColumnName("subject").HasMaxLength(400).IsRequired();
        builder.Property(e => e.Details).HasColumnName("details").IsRequired();
        builder.Property(e => e.PrevHash).HasColumnName("prev_hash").IsRequired();
        builder.Property(e => e.Hash).HasColumnName("hash").IsRequired();
        builder.HasIndex(e => e.At);
        builder.HasIndex(e => new { e.EventType, e.At });
        builder.HasIndex(e => new { e.Actor, e.At });
    }
}
