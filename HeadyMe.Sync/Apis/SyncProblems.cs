using HeadyMe.Sync.Files;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeadyMe.Sync.Apis;

internal static class SyncProblems
{
    public static ProblemHttpResult Quota(QuotaExceeded quota) => TypedResults.Problem(
        $"This would use {quota.UsedBytes + quota.AdditionalBytes} bytes of the workspace owner's quota of {quota.LimitBytes} bytes ({quota.UsedBytes} in use). Nothing was written.",
        statusCode: StatusCodes.Status507InsufficientStorage, title: "Quota exceeded",
        extensions: new Dictionary<string, object?> { ["usedBytes"] = quota.UsedBytes, ["limitBytes"] = quota.LimitBytes });

    public static ProblemHttpResult Integrity(string detail) => TypedResults.Problem(
        detail, statusCode: StatusCodes.Status500InternalServerError, title: "Integrity error");

    public static ProblemHttpResult TooLarge(string detail) => TypedResults.Problem(
        detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large");

    public static IResult From(FileOpError error) => TypedResults.Problem(
        error.Detail, statusCode: error.Status,
        title: error.Status switch { 404 => "Not found", 409 => "Conflict", _ => "Bad request" },
        extensions: error.Current is null ? null : new Dictionary<string, object?> { ["current"] = error.Current });
}
