using System.Security.Claims;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Domain;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync.Apis;

internal static class RepositoryAccess
{
    /// <summary>The caller's own repository, or null (someone else's is indistinguishable from a missing one).</summary>
    public static Task<Repository?> FindOwnAsync(this MonorepoDbContext db, Guid id, ClaimsPrincipal caller, CancellationToken ct, bool withTargets = false)
    {
        var userId = caller.UserId();
        var query = db.Repositories.Where(r => r.Id == id && r.OwnerId == userId);
        if (withTargets)
        {
            query = query.Include(r => r.Targets).Include(r => r.Splits);
        }

        return query.SingleOrDefaultAsync(ct);
    }
}
