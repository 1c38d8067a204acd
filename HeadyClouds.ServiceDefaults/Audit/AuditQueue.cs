using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeadyClouds.ServiceDefaults.Audit;

/// <summary>
/// Where a request handler drops a security event: a bounded in-memory queue drained by <see cref="AuditQueueSender"/>,
/// so no request waits for (or fails because of) SyncManager. An event that cannot be queued is logged at error level.
/// </summary>
public interface IAuditQueue
{
    void Enqueue(AuditEvent auditEvent);
}

public sealed class AuditQueue(ILogger<AuditQueue> logger) : IAuditQueue
{
    public const int Capacity = 1024;

    private readonly Channel<AuditEvent> channel = Channel.CreateBounded<AuditEvent>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    public ChannelReader<AuditEvent> Reader => channel.Reader;

    public void Enqueue(AuditEvent auditEvent)
    {
        if (!channel.Writer.TryWrite(auditEvent))
        {
            logger.LogError("Audit queue full: {EventType} for {Subject} was not recorded", auditEvent.EventType, auditEvent.Subject);
        }
    }
}

/// <summary>Sends queued events to SyncManager one after another.</summary>
public sealed class AuditQueueSender(AuditQueue queue, IAuditClient client, ILogger<AuditQueueSender> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var auditEvent in queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    // The client logs (at error level) what SyncManager did not take.
                    await client.RecordAsync(auditEvent, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Never let one bad send stop the sender (a stopped BackgroundService stops the host).
                    logger.LogError(e, "Audit event {EventType} could not be sent", auditEvent.EventType);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
