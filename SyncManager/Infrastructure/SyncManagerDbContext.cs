using Microsoft.EntityFrameworkCore;
using SyncManager.Domain;

namespace SyncManager.Infrastructure;

public sealed class SyncManagerDbContext(DbContextOptions<SyncManagerDbContext> options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();

    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SyncManagerDbContext).Assembly);
}
