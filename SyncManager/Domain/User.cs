namespace SyncManager.Domain;

public sealed class User
{
    public Guid Id { get; init; }

    /// <summary>Lower-case login name, unique.</summary>
    public required string Username { get; init; }

    public string? DisplayName { get; set; }

    public required string Role { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public List<ApiToken> Tokens { get; init; } = [];
}

public static class Roles
{
    public const string Admin = "admin";
    public const string User = "user";

    public static readonly IReadOnlyList<string> All = [Admin, User];
}
