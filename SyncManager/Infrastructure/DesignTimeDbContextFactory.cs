using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace SyncManager.Infrastructure;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without the running app's configuration.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<SyncManagerDbContext>
{
    public SyncManagerDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SyncManagerDbContext>()
            .UseNpgsql("Host=localhost;Database=syncmanager")
            .Options);
}
