using HeadyClouds.ServiceDefaults.Identity;

namespace HeadyClouds.Testing;

/// <summary>Identities as the gateway would assert them after introspecting a user's API token.</summary>
public static class Callers
{
    public static readonly string[] AllScopes = ["workspaces:read", "workspaces:write", "repos:read", "repos:admin", "tokens:manage"];

    public static CallerIdentity User(Guid id, string name, params string[] scopes) =>
        new(CallerKind.User, id.ToString(), name, ["user"], scopes, Guid.NewGuid().ToString());

    public static CallerIdentity NewUser(params string[] scopes) => User(Guid.CreateVersion7(), "user-" + Unique(), scopes);

    public static CallerIdentity Admin(Guid? id = null) =>
        new(CallerKind.User, (id ?? Guid.CreateVersion7()).ToString(), "admin-" + Unique(), ["admin"], AllScopes, Guid.NewGuid().ToString());

    public static CallerIdentity Gateway => CallerIdentity.ForService(HeadyPolicies.GatewayServiceName);

    public static CallerIdentity SyncManager => CallerIdentity.ForService(HeadyPolicies.SyncManagerServiceName);

    public static Guid Id(this CallerIdentity identity) => Guid.Parse(identity.Subject);

    /// <summary>Eight lower-case hex characters, for names that must not collide between tests.</summary>
    public static string Unique() => Guid.NewGuid().ToString("N")[..8];
}
