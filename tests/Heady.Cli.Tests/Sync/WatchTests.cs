using Heady.Cli.Sync;
using HeadyClouds.Testing;

namespace Heady.Cli.Tests.Sync;

public sealed class WatchTests(SyncFixture fx) : IClassFixture<SyncFixture>
{
    [Fact]
    public async Task A_watching_device_follows_remote_and_local_changes()
    {
        var user = Callers.NewUser("workspaces:read", "workspaces:write");
        var api = fx.ApiFor(user);
        var workspace = await api.CreateWorkspaceAsync("ws-" + Callers.Unique());
        using var a = new Device(api, workspace.Id, "laptop");
        using var b = new Device(fx.ApiFor(user), workspace.Id, "desktop");
        await b.SyncAsync();

        // Rescan far away: only the long poll and file events can drive these rounds.
        var watcher = new FolderWatcher(b.Api, b.Engine, b.Root, workspace.Id, b.State.Cursor)
        {
            Rescan = TimeSpan.FromHours(1),
            Debounce = TimeSpan.FromMilliseconds(200),
            PollSeconds = 5,
        };
        var rounds = new System.Collections.Concurrent.ConcurrentQueue<SyncReport>();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var stop = new CancellationTokenSource();
        var running = watcher.RunAsync(r => { rounds.Enqueue(r); return Task.CompletedTask; }, e => { errors.Enqueue(e); return Task.CompletedTask; }, stop.Token);
        try
        {
            a.Write("from-a.txt", "remote change");
            await a.SyncAsync();
            await Eventually(() => File.Exists(b.PathOf("from-a.txt")));
            Assert.Equal("remote change", b.Read("from-a.txt"));

            await File.WriteAllTextAsync(b.PathOf("from-b.txt"), "local change");
            await Eventually(() => rounds.Any(r => r.Uploaded.Contains("from-b.txt")));
            await a.SyncAsync();
            Assert.Equal("local change", a.Read("from-b.txt"));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }

        Assert.Empty(errors);
    }

    /// <summary>Waits for a condition; the bound only turns a hang into a failure, it is not a speed assertion.</summary>
    private static async Task Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "the watching device did not pick up the change within 60 s");
    }
}
