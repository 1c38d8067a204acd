using Cronos;

namespace SyncManager.Jobs;

/// <summary>
/// Cron expressions read in an IANA time zone (Cronos). Across DST: a time skipped by the spring-forward change
/// fires right after the gap; a time repeated by the fall-back change fires once (its first occurrence).
/// </summary>
public static class CronSchedule
{
    public static bool TryParse(string? cron, string? timeZone, out CronExpression? expression, out TimeZoneInfo? zone, out string error)
    {
        expression = null;
        zone = null;
        if (string.IsNullOrWhiteSpace(cron))
        {
            error = "A cron expression is required.";
            return false;
        }

        try
        {
            expression = CronExpression.Parse(cron.Trim(), CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            error = $"Invalid cron expression '{cron}': {e.Message}";
            return false;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            error = $"Unknown time zone '{timeZone}': use an IANA name such as Europe/Berlin.";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, in UTC; null if there is none.</summary>
    public static DateTimeOffset? NextAfter(string cron, string timeZone, DateTimeOffset after)
    {
        if (!TryParse(cron, timeZone, out var expression, out var zone, out var error))
        {
            throw new FormatException(error);
        }

        var next = expression!.GetNextOccurrence(after.UtcDateTime, zone!, inclusive: false);
        return next is null ? null : new DateTimeOffset(next.Value, TimeSpan.Zero);
    }

    /// <summary>When a definition should next be enqueued: only enabled, scheduled definitions have a time.</summary>
    public static DateTimeOffset? NextRunFor(JobDefinition definition, DateTimeOffset now) =>
        definition.Enabled && !string.IsNullOrWhiteSpace(definition.Cron) ? NextAfter(definition.Cron, definition.TimeZone, now) : null;
}
