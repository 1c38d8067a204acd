using System.Collections.Concurrent;
using StackExchange.Redis;

namespace HeadyMe.Sync.Changes;

/// <summary>
/// Wakes long polls when a workspace changes: in this process directly, and in every replica through the Redis
/// channel <c>headyme:changes</c> (message = workspace id). Redis only shortens the wait: a long poll re-checks the
/// database on its own every <see cref="HeadyMeOptions.PollFallbackInterval"/> while Redis is not subscribed.
/// </summary>
public sealed class ChangeNotifier(IConnectionMultiplexer redis, ILogger<ChangeNotifier> logger) : BackgroundService
{
    public static readonly RedisChannel Channel = RedisChannel.Literal("headyme:changes");

    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> waiters = new();

    /// <summary>True while the Redis subscription is live; long polls re-check the database more often otherwise.</summary>
    public bool Subscribed => subscribed && redis.IsConnected;

    private volatile bool subscribed;

    /// <summary>A task that completes at the next change of the workspace. Take it BEFORE reading the database, so no change is missed.</summary>
    public Task NextChange(Guid workspaceId) =>
        waiters.GetOrAdd(workspaceId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>After a commit: wake local waiters and tell the other replicas.</summary>
    public void Publish(Guid workspaceId)
    {
        Wake(workspaceId);
        try
        {
            redis.GetSubscriber().Publish(Channel, workspaceId.ToString("N"), CommandFlags.FireAndForget);
        }
        catch (RedisException e)
        {
            logger.LogWarning(e, "Could not publish a change of workspace {Workspace} to Redis; other replicas will see it by polling", workspaceId);
        }
    }

    private void Wake(Guid workspaceId)
    {
        if (waiters.TryRemove(workspaceId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // StackExchange.Redis restores subscriptions after reconnects; only the first subscription needs retrying.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await redis.GetSubscriber().SubscribeAsync(Channel, (_, message) =>
                {
                    if (Guid.TryParseExact(message.ToString(), "N", out var workspaceId))
                    {
                        Wake(workspaceId);
                    }
                });
                subscribed = true;
                return;
            }
            catch (RedisException e)
            {
                logger.LogWarning(e, "Redis subscription for change notifications failed; long polls fall back to database polling");
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
            }
        }
    }
}
