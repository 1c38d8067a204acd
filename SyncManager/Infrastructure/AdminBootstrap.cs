using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SyncManager.Domain;

namespace SyncManager.Infrastructure;

public sealed class BootstrapOptions
{
    public const string Section = "Bootstrap";

    /// <summary>The first admin's API token, from the AppHost's secret parameter <c>admin-token</c>.</summary>
    public string? AdminToken { get; set; }

    public string AdminUsername { get; set; } = "admin";
}

/// <summary>
/// Seeds the first admin during the migration step. Idempotent: re-running with the same token changes nothing;
/// with a different token, the previous bootstrap token is revoked and the new one takes its place.
/// </summary>
public static class AdminBootstrap
{
    public const string TokenName = "bootstrap";

    public static async Task SeedAsync(IServiceProvider services, SyncManagerDbContext db, CancellationToken ct)
    {
        var options = services.GetRequiredService<IOptions<BootstrapOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminBootstrap));
        if (string.IsNullOrEmpty(options.AdminToken))
        {
            logger.LogWarning("Bootstrap:AdminToken is not set; no admin is seeded.");
            return;
        }

        if (!TokenSecrets.LooksValid(options.AdminToken) || options.AdminToken.Length < 32)
        {
            throw new InvalidOperationException("Bootstrap:AdminToken must be 32 to 256 printable characters.");
        }

        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var now = time.GetUtcNow();
        var hash = TokenSecrets.Hash(options.AdminToken);
        var username = options.AdminUsername.ToLowerInvariant();

        var admin = await db.Users.Include(u => u.Tokens).SingleOrDefaultAsync(u => u.Username == username, ct);
        if (admin is null)
        {
            admin = new User { Id = Guid.CreateVersion7(), Username = username, Role = Roles.Admin, CreatedAt = now, DisplayName = "Administrator" };
            db.Users.Add(admin);
        }

        admin.Role = Roles.Admin;
        var current = admin.Tokens.FirstOrDefault(t => t.Hash.AsSpan().SequenceEqual(hash));
        foreach (var old in admin.Tokens.Where(t => t.Name == TokenName && t != current && t.RevokedAt is null))
        {
            old.RevokedAt = now;
        }

        if (current is null)
        {
            db.ApiTokens.Add(new ApiToken
            {
                Id = Guid.CreateVersion7(),
                UserId = admin.Id,
                Name = TokenName,
                Prefix = TokenSecrets.DisplayPrefix(options.AdminToken),
                Hash = hash,
                Scopes = [.. TokenScopes.All],
                CreatedAt = now,
            });
        }
        else if (!current.IsActive(now))
        {
            throw new InvalidOperationException("The configured Bootstrap:AdminToken was revoked; choose a new admin-token parameter value.");
        }

        // One SaveChanges is one transaction: the admin and its token appear together or not at all.
        await db.SaveChangesAsync(ct);
        logger.LogInformation("Admin user {Username} is bootstrapped", username);
    }
}
