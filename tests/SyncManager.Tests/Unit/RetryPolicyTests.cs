using SyncManager.Jobs;

namespace SyncManager.Tests.Unit;

public sealed class RetryPolicyTests
{
    [Theory]
    [InlineData(1, 5, 10)]
    [InlineData(2, 10, 20)]
    [InlineData(3, 20, 40)]
    [InlineData(4, 40, 80)]
    public void DoublesPerAttemptWithHalfOfItJittered(int failedAttempt, int minSeconds, int maxSeconds)
    {
        var (min, max) = RetryPolicy.Bounds(failedAttempt, baseSeconds: 10, maxSeconds: 3600);
        Assert.Equal(TimeSpan.FromSeconds(minSeconds), min);
        Assert.Equal(TimeSpan.FromSeconds(maxSeconds), max);
        Assert.Equal(TimeSpan.FromSeconds((minSeconds + maxSeconds) / 2.0), RetryPolicy.Delay(failedAttempt, 10, 3600, 0.5));
    }

    [Fact]
    public void IsCappedAtTheMaximumEvenForHugeAttemptNumbers()
    {
        Assert.Equal((TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(100)), RetryPolicy.Bounds(8, 10, 100));
        Assert.Equal(TimeSpan.FromSeconds(100), RetryPolicy.Delay(10_000, 10, 100, 1));
    }

    [Fact]
    public void JitterSpreadsRetriesOfJobsThatFailedTogether()
    {
        var random = new Random(7);
        var delays = Enumerable.Range(0, 100).Select(_ => RetryPolicy.Delay(3, 10, 3600, random.NextDouble())).ToList();
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40)));
        Assert.True(delays.Distinct().Count() > 90);
    }

    [Fact]
    public void RefusesAttemptZero() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryPolicy.Delay(0, 10, 100, 0));
}
