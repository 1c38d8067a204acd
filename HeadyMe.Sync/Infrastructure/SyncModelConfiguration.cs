using HeadyMe.Sync.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace HeadyMe.Sync.Infrastructure;

internal sealed class KekVersionConfiguration : IEntityTypeConfiguration<KekVersion>
{
    public void Configure(EntityTypeBuilder<KekVersion> builder)
    {
        builder.ToTable("kek_versions");
        builder.HasKey(k => k.Version);
        builder.Property(k => k.Version).HasColumnName("version").ValueGeneratedNever();
        builder.Property(k => k.WrappedKey).HasColumnName("wrapped_key");
        builder.Property(k => k.CreatedAt).HasColumnName("created_at");
        builder.Property(k => k.RetiredAt).HasColumnName("retired_at");
    }
}

internal sealed class WorkspaceKeyConfiguration : IEntityTypeConfiguration<WorkspaceKey>
{
    public void Configure(EntityTypeBuilder<WorkspaceKey> builder)
    {
        builder.ToTable("workspace_keys");
        builder.HasKey(k => new { k.WorkspaceId, k.Version });
        builder.Property(k => k.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(k => k.Version).HasColumnName("version");
        builder.Property(k => k.KekVersion).HasColumnName("kek_version");
        builder.Property(k => k.WrappedKey).HasColumnName("wrapped_key").IsRequired();
        builder.Property(k => k.CreatedAt).HasColumnName("created_at");
        builder.HasOne<Workspace>().WithMany().HasForeignKey(k => k.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<KekVersion>().WithMany().HasForeignKey(k => k.KekVersion).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class FolderConfiguration : IEntityTypeConfiguration<Folder>
{
    public void Configure(EntityTypeBuilder<Folder> builder)
    {
        builder.ToTable("folders");
        builder.HasKey(f => new { f.WorkspaceId, f.Key });
        builder.Property(f => f.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(f => f.Key).HasColumnName("key");
        builder.Property(f => f.Path).HasColumnName("path").IsRequired();
        builder.HasOne<Workspace>().WithMany().HasForeignKey(f => f.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class FileEntryConfiguration : IEntityTypeConfiguration<FileEntry>
{
    public void Configure(EntityTypeBuilder<FileEntry> builder)
    {
        builder.ToTable("file_entries");
        builder.HasKey(f => f.Id);
        builder.Property(f => f.Id).HasColumnName("id");
        builder.Property(f => f.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(f => f.Path).HasColumnName("path").IsRequired();
        builder.Property(f => f.PathKey).HasColumnName("path_key").IsRequired();
        builder.Property(f => f.CurrentVersionId).HasColumnName("current_version_id");
        builder.Property(f => f.Deleted).HasColumnName("deleted");
        builder.Property(f => f.DeletedAt).HasColumnName("deleted_at");
        builder.Property(f => f.Purged).HasColumnName("purged");
        builder.Property(f => f.Seq).HasColumnName("seq");
        builder.Property(f => f.Size).HasColumnName("size");
        builder.HasIndex(f => new { f.WorkspaceId, f.PathKey }).IsUnique();
        // The change feed reads entries after a sequence number.
        builder.HasIndex(f => new { f.WorkspaceId, f.Seq });
        builder.HasOne<Workspace>().WithMany().HasForeignKey(f => f.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class FileVersionConfiguration : IEntityTypeConfiguration<FileVersion>
{
    public void Configure(EntityTypeBuilder<FileVersion> builder)
    {
        builder.ToTable("file_versions");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.Id).HasColumnName("id");
        builder.Property(v => v.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(v => v.FileId).HasColumnName("file_id");
        builder.Property(v => v.Path).HasColumnName("path").IsRequired();
        builder.Property(v => v.Size).HasColumnName("size");
        builder.Property(v => v.ContentHash).HasColumnName("content_hash").HasMaxLength(64).IsRequired();
        builder.Property(v => v.ChunkIds).HasColumnName("chunk_ids").IsRequired();
        builder.Property(v => v.ModifiedAt).HasColumnName("modified_at");
        builder.Property(v => v.Mode).HasColumnName("mode");
        builder.Property(v => v.Device).HasColumnName("device").HasMaxLength(100).IsRequired();
        builder.Property(v => v.CreatedAt).HasColumnName("created_at");
        builder.Property(v => v.CreatedBy).HasColumnName("created_by");
        builder.Property(v => v.Seq).HasColumnName("seq");
        builder.HasIndex(v => new { v.FileId, v.Seq });
        builder.HasIndex(v => v.WorkspaceId);
        builder.HasOne<FileEntry>().WithMany().HasForeignKey(v => v.FileId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ChunkConfiguration : IEntityTypeConfiguration<Chunk>
{
    public void Configure(EntityTypeBuilder<Chunk> builder)
    {
        builder.ToTable("chunks");
        builder.HasKey(c => new { c.WorkspaceId, c.ChunkId });
        builder.Property(c => c.WorkspaceId).HasColumnName("workspace_id");
        builder.Property(c => c.ChunkId).HasColumnName("chunk_id").HasMaxLength(64);
        builder.Property(c => c.Size).HasColumnName("size");
        builder.Property(c => c.StoredSize).HasColumnName("stored_size");
        builder.Property(c => c.ObjectKey).HasColumnName("object_key").IsRequired();
        builder.Property(c => c.KeyVersion).HasColumnName("key_version");
        builder.Property(c => c.CreatedAt).HasColumnName("created_at");
        builder.Property(c => c.LastReferencedAt).HasColumnName("last_referenced_at");
        builder.HasIndex(c => c.LastReferencedAt);
        builder.HasOne<Workspace>().WithMany().HasForeignKey(c => c.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
