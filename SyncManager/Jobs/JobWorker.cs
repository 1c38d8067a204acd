using Microsoft.Extensions.Options;
using SyncManager.Infrastructure;

namespace SyncManager.Jobs;

/// <summary>
/// The replica's job loops: one scheduler/sampler loop and <see cref="JobEngineOptions.Concurrency"/> worker loops.
/// Every replica runs the same loops; the database decides who runs what.
/// </summary>
public sealed class JobWorker(JobEngine engine, IServiceScopeFactory scopes, JobMetrics metrics, IOptions<JobEngineOptions> options,
    TimeProvider time, ILogger<JobWorker> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.WorkerEnabled)
        {
            logger.LogInformation("Job worker disabled (Jobs:WorkerEnabled=false)");
            return Task.CompletedTask;
        }

        logger.LogInformation("Job worker {Worker} starting with {Concurrency} loops", engine.WorkerId, o.Concurrency);
        var loops = Enumerable.Range(0, Math.Max(1, o.Concurrency)).Select(_ => WorkLoopAsync(stoppingToken)).Append(ScheduleLoopAsync(stoppingToken));
        return Task.WhenAll(loops);
    }

    private async Task ScheduleLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await engine.ScheduleDueAsync(ct);
                await using var scope = scopes.CreateAsyncScope();
                await metrics.SampleAsync(scope.ServiceProvider.GetRequiredService<SyncManagerDbContext>(), time.GetUtcNow(), ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.LogError(e, "Job scheduler pass failed; retrying after the poll interval");
            }

            await DelayAsync(ct);
        }
    }

    private async Task WorkLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (await engine.ProcessNextAsync(ct))
                {
                    continue;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.LogError(e, "Job worker pass failed; retrying after the poll interval");
            }

            await DelayAsync(ct);
        }
    }

    private async Task DelayAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(options.Value.PollInterval, time, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
