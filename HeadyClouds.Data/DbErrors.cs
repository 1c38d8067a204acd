using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace HeadyClouds.Data;

public static class DbErrors
{
    /// <summary>True when the save failed on a unique constraint: the client asked for something that exists (409).</summary>
    public static bool IsUniqueViolation(this DbUpdateException exception) =>
        exception.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
