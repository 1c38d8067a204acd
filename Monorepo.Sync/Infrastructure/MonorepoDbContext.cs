using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Domain;

namespace Monorepo.Sync.Infrastructure;

public sealed class MonorepoDbContext(DbContextOptions<MonorepoDbContext> options) : DbContext(options)
{
    public DbSet<Repository> Repositories => Set<Repository>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(MonorepoDbContext).Assembly);
}
