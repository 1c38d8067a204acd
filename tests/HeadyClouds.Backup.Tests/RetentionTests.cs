namespace HeadyClouds.Backup.Tests;

public sealed class RetentionTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 23, 0, 0, TimeSpan.Zero);

    private static BackupListing At(DateTimeOffset when, bool complete = true) =>
        new($"{when.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-0000000{(complete ? 1 : 0)}", when, complete);

    /// <summary>One backup a day at 01:00 for <paramref name="days"/> days up to today.</summary>
    private static List<BackupListing> Daily(int days) =>
        Enumerable.Range(0, days).Select(d => At(new DateTimeOffset(2026, 12, 4, 1, 0, 0, TimeSpan.Zero).AddDays(-d))).ToList();

    [Fact]
    public void AYearOfDailyBackupsKeeps7Days4WeeksAnd12Months()
    {
        var backups = Daily(400);

        var decision = Retention.Decide(backups, new RetentionPolicy(), Now);

        var kept = decision.Keep.Select(b => b.CreatedAt.UtcDateTime.Date).ToHashSet();
        var expected = new HashSet<DateTime>();
        // 7 days: 28 Nov .. 4 Dec.
        for (var d = 0; d < 7; d++)
        {
            expected.Add(new DateTime(2026, 12, 4).AddDays(-d));
        }

        // 4 ISO weeks: newest of each = the Sunday ending it (this week's newest is today, Friday 4 Dec).
        expected.UnionWith([new DateTime(2026, 12, 4), new DateTime(2026, 11, 29), new DateTime(2026, 11, 22), new DateTime(2026, 11, 15)]);
        // 12 months: newest of each = its last day (this month: today).
        expected.Add(new DateTime(2026, 12, 4));
        for (var m = 1; m < 12; m++)
        {
            var first = new DateTime(2026, 12, 1).AddMonths(-m);
            expected.Add(first.AddMonths(1).AddDays(-1));
        }

        Assert.Equal(expected.Order(), kept.Order());
        Assert.Equal(400 - expected.Count, decision.Delete.Count);
        Assert.Equal("newest, daily, weekly, monthly", decision.Reasons[backups[0].Id]);
    }

    [Fact]
    public void SeveralBackupsADayKeepOnlyTheNewestOfThatDay()
    {
        var morning = At(new DateTimeOffset(2026, 12, 3, 1, 0, 0, TimeSpan.Zero));
        var evening = At(new DateTimeOffset(2026, 12, 3, 20, 0, 0, TimeSpan.Zero));
        var today = At(new DateTimeOffset(2026, 12, 4, 1, 0, 0, TimeSpan.Zero));

        var decision = Retention.Decide([morning, evening, today], new RetentionPolicy(), Now);

        Assert.Equal([today, evening], decision.Keep);
        Assert.Equal([morning], decision.Delete);
    }

    [Fact]
    public void FewerBackupsThanTheRulesAllowAreAllKept()
    {
        var backups = Daily(5);

        var decision = Retention.Decide(backups, new RetentionPolicy(), Now);

        Assert.Equal(5, decision.Keep.Count);
        Assert.Empty(decision.Delete);
    }

    [Fact]
    public void GapsDoNotShortenTheDailyWindow()
    {
        // Backups stopped for 10 days: the 7 daily ones are the 7 newest days that have a backup, not calendar days.
        var backups = Daily(30).Where((_, i) => i is 0 or > 10).ToList();

        var decision = Retention.Decide(backups, new RetentionPolicy(Daily: 7, Weekly: 0, Monthly: 0), Now);

        Assert.Equal(7, decision.Keep.Count);
        Assert.Equal(backups.Take(7), decision.Keep);
    }

    [Fact]
    public void IncompleteBackupsAreKeptWhileTheyMayRunAndDeletedAfter()
    {
        var complete = At(new DateTimeOffset(2026, 12, 4, 1, 0, 0, TimeSpan.Zero));
        var running = At(new DateTimeOffset(2026, 12, 4, 22, 0, 0, TimeSpan.Zero), complete: false);
        var failed = At(new DateTimeOffset(2026, 12, 2, 1, 0, 0, TimeSpan.Zero), complete: false);

        var decision = Retention.Decide([complete, running, failed], new RetentionPolicy(), Now);

        Assert.Equal([running, complete], decision.Keep);
        Assert.Equal([failed], decision.Delete);
    }

    [Fact]
    public void AnIncompleteBackupNeverCountsAsTheNewest()
    {
        var older = At(new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.Zero));
        var failed = At(new DateTimeOffset(2026, 12, 1, 1, 0, 0, TimeSpan.Zero), complete: false);

        var decision = Retention.Decide([older, failed], new RetentionPolicy(0, 0, 0), Now);

        Assert.Equal([older], decision.Keep);
        Assert.Equal("newest", decision.Reasons[older.Id]);
    }

    [Fact]
    public void IsoWeeksSpanTheYearBoundary()
    {
        // Mon 29 Dec 2025 .. Sun 4 Jan 2026 are ISO week 2026-W01: one weekly backup for them, the newest (4 Jan).
        var days = Enumerable.Range(0, 7).Select(d => At(new DateTimeOffset(2025, 12, 29, 1, 0, 0, TimeSpan.Zero).AddDays(d))).ToList();

        var decision = Retention.Decide(days, new RetentionPolicy(Daily: 0, Weekly: 4, Monthly: 0), new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal([days[^1]], decision.Keep);
    }
}
