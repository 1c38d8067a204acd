using HeadyMe.Sync.Domain;
using Microsoft.EntityFrameworkCore;

namespace HeadyMe.Sync.Infrastructure;

public sealed class HeadyMeDbContext(DbContextOptions<HeadyMeDbContext> options) : DbContext(options)
{
    public DbSet<Workspace> Workspaces => Set<Workspace>();

    public DbSet<WorkspaceMember> WorkspaceMembers => Set<WorkspaceMember>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(HeadyMeDbContext).Assembly);
}
