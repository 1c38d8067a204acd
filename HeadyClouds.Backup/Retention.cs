using System.Globalization;

namespace HeadyClouds.Backup;

public sealed record RetentionPolicy(int Daily = 7, int Weekly = 4, int Monthly = 12)
{
    /// <summary>A backup without a manifest younger than this may still be running; older ones are failed runs.</summary>
    public TimeSpan IncompleteGrace { get; init; } = TimeSpan.FromDays(1);
}

public sealed record BackupListing(string Id, DateTimeOffset CreatedAt, bool Complete);

public sealed record RetentionDecision(IReadOnlyList<BackupListing> Keep, IReadOnlyList<BackupListing> Delete, IReadOnlyDictionary<string, string> Reasons);

/// <summary>
/// Which backups to keep: the newest complete backup of each of the last <c>Daily</c> UTC days that have one, of each of
/// the last <c>Weekly</c> ISO weeks, and of each of the last <c>Monthly</c> months (a backup can satisfy several rules);
/// the newest complete backup always. Incomplete backups (no manifest) are deleted once older than the grace period.
/// Pure: no clock but <paramref name="now"/>, no I/O.
/// </summary>
public static class Retention
{
    public static RetentionDecision Decide(IEnumerable<BackupListing> backups, RetentionPolicy policy, DateTimeOffset now)
    {
        var all = backups.OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.Id, StringComparer.Ordinal).ToList();
        var complete = all.Where(b => b.Complete).ToList();
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);

        void Rule(string name, int count, Func<DateTime, string> period)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var backup in complete)
            {
                if (seen.Count >= count)
                {
                    break;
                }

                if (seen.Add(period(backup.CreatedAt.UtcDateTime)))
                {
                    reasons[backup.Id] = reasons.TryGetValue(backup.Id, out var r) ? $"{r}, {name}" : name;
                }
            }
        }

        if (complete.Count > 0)
        {
            reasons[complete[0].Id] = "newest";
        }

        Rule("daily", policy.Daily, d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Rule("weekly", policy.Weekly, d => $"{ISOWeek.GetYear(d)}-W{ISOWeek.GetWeekOfYear(d):D2}");
        Rule("monthly", policy.Monthly, d => d.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        foreach (var running in all.Where(b => !b.Complete && now - b.CreatedAt < policy.IncompleteGrace))
        {
            reasons[running.Id] = "incomplete, may still be running";
        }

        var keep = all.Where(b => reasons.ContainsKey(b.Id)).ToList();
        var delete = all.Where(b => !reasons.ContainsKey(b.Id)).ToList();
        return new RetentionDecision(keep, delete, reasons);
    }
}
