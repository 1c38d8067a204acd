using SyncManager.Jobs;

namespace SyncManager.Tests.Unit;

/// <summary>Cron in an IANA zone across both DST changes of Europe/Berlin in 2026 (29 March, 25 October).</summary>
public sealed class CronScheduleTests
{
    private static DateTimeOffset Utc(int month, int day, int hour, int minute) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public void SpringForwardSkippedTimeFiresRightAfterTheGapOnce()
    {
        // 02:30 does not exist on 29 March: the run happens at 03:00 CEST (01:00 UTC), then 02:30 CEST again.
        var first = CronSchedule.NextAfter("30 2 * * *", "Europe/Berlin", Utc(3, 28, 12, 0));
        Assert.Equal(Utc(3, 29, 1, 0), first);
        Assert.Equal(Utc(3, 30, 0, 30), CronSchedule.NextAfter("30 2 * * *", "Europe/Berlin", first!.Value));
        // The day before the change it was 02:30 CET = 01:30 UTC.
        Assert.Equal(Utc(3, 28, 1, 30), CronSchedule.NextAfter("30 2 * * *", "Europe/Berlin", Utc(3, 27, 12, 0)));
    }

    [Fact]
    public void FallBackRepeatedTimeFiresOnlyOnce()
    {
        // 02:30 happens twice on 25 October (CEST 00:30 UTC, then CET 01:30 UTC): one run, at the first.
        var first = CronSchedule.NextAfter("30 2 * * *", "Europe/Berlin", Utc(10, 24, 12, 0));
        Assert.Equal(Utc(10, 25, 0, 30), first);
        Assert.Equal(Utc(10, 26, 1, 30), CronSchedule.NextAfter("30 2 * * *", "Europe/Berlin", first!.Value));
    }

    [Fact]
    public void SameCronInUtcIgnoresDst()
    {
        Assert.Equal(Utc(3, 29, 2, 30), CronSchedule.NextAfter("30 2 * * *", "UTC", Utc(3, 28, 12, 0)));
    }

    [Fact]
    public void QuarterlyKeyRotationIsAbout90DaysApart()
    {
        var (_, _, cron, _, _, _) = DefaultJobs.All.Single(d => d.Type == JobTypes.KeyRotation);
        var at = Utc(1, 1, 12, 0);
        var runs = new List<DateTimeOffset>();
        for (var i = 0; i < 5; i++)
        {
            at = CronSchedule.NextAfter(cron!, "UTC", at)!.Value;
            runs.Add(at);
        }

        Assert.All(runs.Zip(runs.Skip(1)), p => Assert.InRange((p.Second - p.First).TotalDays, 90, 92));
    }

    [Fact]
    public void DisabledOrUnscheduledDefinitionsHaveNoNextRun()
    {
        var now = Utc(5, 1, 0, 0);
        Assert.Null(CronSchedule.NextRunFor(new JobDefinition { Name = "n", Type = "t", Cron = "* * * * *", Enabled = false }, now));
        Assert.Null(CronSchedule.NextRunFor(new JobDefinition { Name = "n", Type = "t", Cron = null }, now));
        Assert.Equal(now.AddMinutes(1), CronSchedule.NextRunFor(new JobDefinition { Name = "n", Type = "t", Cron = "* * * * *" }, now));
    }

    [Theory]
    [InlineData("not cron", "UTC", "Invalid cron expression")]
    [InlineData("61 * * * *", "UTC", "Invalid cron expression")]
    [InlineData("* * * * *", "Mars/Olympus", "Unknown time zone")]
    public void RefusesInvalidExpressionsAndZones(string cron, string zone, string message)
    {
        Assert.False(CronSchedule.TryParse(cron, zone, out _, out _, out var error));
        Assert.StartsWith(message, error);
    }
}
