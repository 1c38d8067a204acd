using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Domain;

namespace Monorepo.Sync.Infrastructure;

public sealed class MonorepoDbContext(DbContextOptions<MonorepoDbContext> options) : DbContext(options)
{
    public DbSet<Repository> Repositories => Set<Repository>();

    public DbSet<SyncTarget> SyncTargets => Set<SyncTarget>();

    public DbSet<SplitTarget> SplitTargets => Set<SplitTarget>();

    public DbSet<SplitMapEntry> SplitMap => Set<SplitMapEntry>();

    public DbSet<SyncRun> SyncRuns => Set<SyncRun>();

    public DbSet<RefUpdateAudit> RefUpdateAudit => Set<RefUpdateAudit>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(MonorepoDbContext).Assembly);
}
