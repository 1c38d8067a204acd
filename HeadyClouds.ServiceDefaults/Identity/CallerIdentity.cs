namespace HeadyClouds.ServiceDefaults.Identity;

public enum CallerKind
{
    User,
    Service,
}

/// <summary>Who is calling: a user authenticated at the gateway by an API token, or a service.</summary>
/// <param name="Subject">User id (a GUID) for users, the service name for services.</param>
public sealed record CallerIdentity(
    CallerKind Kind,
    string Subject,
    string Name,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Scopes,
    string? TokenId = null)
{
    public static CallerIdentity ForService(string serviceName) =>
        new(CallerKind.Service, serviceName, serviceName, [], []);
}
