using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Monorepo.Sync.Infrastructure;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without the running app's configuration.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<MonorepoDbContext>
{
    public MonorepoDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<MonorepoDbContext>()
            .UseNpgsql("Host=localhost;Database=monorepo")
            .Options);
}
