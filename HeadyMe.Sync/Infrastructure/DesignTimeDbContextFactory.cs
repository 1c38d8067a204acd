using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace HeadyMe.Sync.Infrastructure;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without the running app's configuration.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<HeadyMeDbContext>
{
    public HeadyMeDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<HeadyMeDbContext>()
            .UseNpgsql("Host=localhost;Database=headyme")
            .Options);
}
