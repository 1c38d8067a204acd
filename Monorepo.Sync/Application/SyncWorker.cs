namespace Monorepo.Sync.Application;

/// <summary>Runs queued sync requests one after another; a request for a repository already running is coalesced.</summary>
public sealed class SyncWorker(SyncQueue queue, IServiceScopeFactory scopes, ILogger<SyncWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var request in queue.ReadAllAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<SyncRunner>().RunAsync(request.RepositoryId, request.Trigger, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or Microsoft.EntityFrameworkCore.DbUpdateException or InvalidOperationException)
            {
                // One repository's trouble must not stop the worker for the others.
                logger.LogError(e, "Sync of repository {RepositoryId} could not run", request.RepositoryId);
            }
        }
    }
}
