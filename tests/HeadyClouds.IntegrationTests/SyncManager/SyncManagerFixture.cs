using System.Net;
using HeadyClouds.Testing;
using HeadyClouds.ServiceDefaults.Identity;
using SyncManager;
using SyncManager.Infrastructure;

namespace HeadyClouds.IntegrationTests.SyncManager;

public sealed class SyncManagerFixture : ServiceFixture<SyncManagerDbContext>
{
    protected override string DatabaseResource => SyncManagerServices.DatabaseResource;

    protected override string ServiceName => "syncmanager";

    protected override bool UsesRedis => true;

    /// <summary>Creates a user through the API, as an admin would, and returns the identity the gateway would assert for them.</summary>
    public async Task<CallerIdentity> CreateUserAsync(string[] scopes, string role = "user")
    {
        var username = "u-" + Callers.Unique();
        var response = await PostAsync("/api/v1/users", Callers.Admin(), new { username, role });
        var json = await response.AssertJsonAsync(HttpStatusCode.Created);
        var id = json.GetProperty("id").GetGuid();
        return new CallerIdentity(CallerKind.User, id.ToString(), username, [role], scopes, Guid.NewGuid().ToString());
    }
}
