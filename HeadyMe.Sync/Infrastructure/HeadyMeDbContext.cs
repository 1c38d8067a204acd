using HeadyMe.Sync.Domain;
using Microsoft.EntityFrameworkCore;

namespace HeadyMe.Sync.Infrastructure;

public sealed class HeadyMeDbContext(DbContextOptions<HeadyMeDbContext> options) : DbContext(options)
{
    public DbSet<Workspace> Workspaces => Set<Workspace>();

    public DbSet<WorkspaceMember> WorkspaceMembers => Set<WorkspaceMember>();

    public DbSet<KekVersion> KekVersions => Set<KekVersion>();

    public DbSet<WorkspaceKey> WorkspaceKeys => Set<WorkspaceKey>();

    public DbSet<Folder> Folders => Set<Folder>();

    public DbSet<FileEntry> FileEntries => Set<FileEntry>();

    public DbSet<FileVersion> FileVersions => Set<FileVersion>();

    public DbSet<Chunk> Chunks => Set<Chunk>();

    public DbSet<UserQuota> UserQuotas => Set<UserQuota>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(HeadyMeDbContext).Assembly);
}
