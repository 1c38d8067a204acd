using Microsoft.EntityFrameworkCore;
using SyncManager.Audit;
using SyncManager.Domain;
using SyncManager.Jobs;

namespace SyncManager.Infrastructure;

public sealed class SyncManagerDbContext(DbContextOptions<SyncManagerDbContext> options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();

    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();

    public DbSet<JobDefinition> JobDefinitions => Set<JobDefinition>();

    public DbSet<Job> Jobs => Set<Job>();

    public DbSet<JobAttempt> JobAttempts => Set<JobAttempt>();

    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SyncManagerDbContext).Assembly);
}
