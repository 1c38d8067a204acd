using Heady.Cli.Api;
using HeadyClouds.Sync.Core.Protocol;

namespace Heady.Cli.Sync;

/// <summary>
/// Watch mode: sync, then wait for whichever comes first: a local change (FileSystemWatcher, debounced), a remote
/// change (the change feed's long poll), or the periodic rescan (watcher events can be lost: buffer overflows,
/// changes while the machine slept). Errors of one round (offline, server down) are reported and retried at the next.
/// </summary>
public sealed class FolderWatcher(HeadyApiClient api, SyncEngine engine, string root, Guid workspace, string? cursor)
{
    public TimeSpan Rescan { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan Debounce { get; init; } = TimeSpan.FromSeconds(1);

    public int PollSeconds { get; init; } = SyncApi.DefaultPollSeconds;

    // The poller only reads this copy: the state database belongs to the sync loop's thread.
    private volatile string? knownCursor = cursor;

    public async Task RunAsync(Func<SyncReport, Task> onRound, Func<Exception, Task> onError, CancellationToken ct)
    {
        using var wake = new SemaphoreSlim(0);
        using var watcher = new FileSystemWatcher(root) { IncludeSubdirectories = true, InternalBufferSize = 64 * 1024 };
        var stateFolder = Path.Combine(Path.GetFullPath(root), LocalPaths.StateFolder);
        void OnLocal(string? fullPath)
        {
            if (fullPath is null || !fullPath.StartsWith(stateFolder, StringComparison.Ordinal))
            {
                wake.Release();
            }
        }

        watcher.Changed += (_, e) => OnLocal(e.FullPath);
        watcher.Created += (_, e) => OnLocal(e.FullPath);
        watcher.Deleted += (_, e) => OnLocal(e.FullPath);
        watcher.Renamed += (_, e) => OnLocal(e.FullPath);
        watcher.Error += (_, _) => OnLocal(null); // overflow: a rescan finds what was missed
        watcher.EnableRaisingEvents = true;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var poller = Task.Run(() => PollAsync(wake, stop.Token), CancellationToken.None);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    var report = await engine.RunAsync(SyncDirection.Both, ct);
                    knownCursor = report.Cursor;
                    await onRound(report);
                }
                catch (CliException e) when (!ct.IsCancellationRequested)
                {
                    await onError(e);
                }

                await wake.WaitAsync(Rescan, ct);
                await Task.Delay(Debounce, ct); // a burst of events (an editor saving, a copy) makes one round
                while (wake.CurrentCount > 0)
                {
                    await wake.WaitAsync(ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            await stop.CancelAsync();
            await poller;
        }
    }

    private async Task PollAsync(SemaphoreSlim wake, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var polledAt = knownCursor;
                var answer = await api.PollAsync(workspace, polledAt, PollSeconds, ct);
                if (answer.Changes.Count > 0)
                {
                    wake.Release();
                    // Wait until the sync loop has moved past what we saw, instead of waking it again and again.
                    while (knownCursor == polledAt && !ct.IsCancellationRequested)
                    {
                        await Task.Delay(200, ct);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (CliException)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), ct); // offline: the periodic rescan still runs
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
