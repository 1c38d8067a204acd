using System.Threading.Channels;

namespace Monorepo.Sync.Application;

public sealed record SyncRequest(Guid RepositoryId, string Trigger);

/// <summary>
/// In-process queue of requested runs, drained by <see cref="SyncWorker"/>. Losing it on a crash loses only a request:
/// scheduled runs come again from SyncManager and the source's next push sends another webhook.
/// </summary>
public sealed class SyncQueue
{
    private readonly Channel<SyncRequest> channel = Channel.CreateBounded<SyncRequest>(new BoundedChannelOptions(1024)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
    });

    public void Enqueue(Guid repositoryId, string trigger) => channel.Writer.TryWrite(new SyncRequest(repositoryId, trigger));

    public IAsyncEnumerable<SyncRequest> ReadAllAsync(CancellationToken ct) => channel.Reader.ReadAllAsync(ct);
}
