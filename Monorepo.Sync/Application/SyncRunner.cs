using System.Security.Cryptography;
using HeadyClouds.ServiceDefaults.Audit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Monorepo.Sync.Domain;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Mirror;
using Monorepo.Sync.Infrastructure;
using Npgsql;

namespace Monorepo.Sync.Application;

public enum SyncStart
{
    Ran,
    AlreadyRunning,
    NotFound,
}

/// <summary>
/// One sync run of a repository: fetch the source into the bare mirror (with prune), push to every target (protected
/// refs never move backwards, sideways or away; the other refs still sync), split and push every split, and record
/// every ref update in the append-only audit. A PostgreSQL advisory lock makes it one run per repository at a time
/// across all replicas; a failure backs automatic runs off exponentially (with jitter) and is reported in the status.
/// </summary>
public sealed class SyncRunner(
    MonorepoDbContext db,
    MirrorEngine engine,
    GitCli git,
    SplitRunner splits,
    CredentialProtector protector,
    IOptions<MonorepoOptions> options,
    TimeProvider time,
    IAuditQueue audit,
    ILogger<SyncRunner> logger,
    NpgsqlDataSource dataSource)
{
    /// <summary>Internal refs in the mirror (keep split commits alive); never fetched over, never pushed.</summary>
    public const string InternalRefPrefix = "refs/heady/";

    public async Task<(SyncStart Start, SyncRun? Run)> RunAsync(Guid repositoryId, string trigger, CancellationToken ct)
    {
        // A connection of its own (not the context's): the advisory lock lives as long as this session.
        await using var lockConnection = await dataSource.OpenConnectionAsync(ct);
        if (!await TryLockAsync(lockConnection, repositoryId, ct))
        {
            logger.LogInformation("Sync of repository {RepositoryId} requested by {Trigger} while one runs; not started twice", repositoryId, trigger);
            return (SyncStart.AlreadyRunning, null);
        }

        try
        {
            var repository = await db.Repositories.Include(r => r.Targets).Include(r => r.Splits)
                .SingleOrDefaultAsync(r => r.Id == repositoryId, ct);
            if (repository is null)
            {
                return (SyncStart.NotFound, null);
            }

            var run = new SyncRun { Id = Guid.CreateVersion7(), RepositoryId = repositoryId, Trigger = trigger, StartedAt = time.GetUtcNow(), Outcome = "running" };
            db.SyncRuns.Add(run);
            repository.LastRunAt = run.StartedAt;
            await db.SaveChangesAsync(ct);

            await ExecuteAsync(repository, run, ct);
            return (SyncStart.Ran, run);
        }
        finally
        {
            await UnlockAsync(lockConnection, repositoryId);
        }
    }

    private async Task ExecuteAsync(Repository repository, SyncRun run, CancellationToken ct)
    {
        var mirrorPath = MirrorPath(options.Value, repository.Id);
        var filter = new RefFilter(repository.IncludeRefs, [.. repository.ExcludeRefs, InternalRefPrefix + "**"]);
        string? fatal = null;
        try
        {
            // Again at every run: the name may point elsewhere now than when it was registered.
            await EnsureReachableAsync(repository.SourceUrl, ct);
            var source = ToGitCredential(protector.Open(repository.SourceCredential, CredentialProtector.SourceContext(repository.Id)));
            await engine.FetchAsync(mirrorPath, repository.SourceUrl, source, filter, ct);

            foreach (var target in repository.Targets.OrderBy(t => t.Name))
            {
                await SyncTargetAsync(repository, target, run, mirrorPath, filter, ct);
            }

            foreach (var split in repository.Splits.OrderBy(s => s.Name))
            {
                if (await RefusalAsync(split.Url, ct) is { } refused)
                {
                    split.LastError = refused;
                    continue;
                }

                var update = await splits.RunAsync(repository, split, mirrorPath, ct);
                split.LastSuccessAt = update.Error is null ? time.GetUtcNow() : split.LastSuccessAt;
                split.LastError = update.Error;
                if (update.Update is { } refUpdate)
                {
                    Audit(repository, run, "split:" + split.Name, refUpdate);
                }
            }
        }
        catch (Exception e) when (e is GitCommandException or CryptographicException or IOException or ArgumentException)
        {
            fatal = GitCli.Redact(e.Message);
            logger.LogWarning("Sync of repository {RepositoryId} failed: {Error}", repository.Id, fatal);
        }

        var now = time.GetUtcNow();
        var problems = repository.Targets.Count(t => t.LastError is not null || t.RefusedRefs > 0) + repository.Splits.Count(s => s.LastError is not null);
        run.FinishedAt = now;
        run.Error = fatal;
        run.Outcome = fatal is not null ? "failed" : problems > 0 ? "partial" : "succeeded";
        if (fatal is null && problems == 0)
        {
            repository.LastSuccessAt = now;
            repository.LastError = null;
            repository.ConsecutiveFailures = 0;
            repository.NextAttemptAfter = null;
        }
        else
        {
            repository.LastError = fatal ?? $"{problems} target(s) or split(s) need attention; see their status and the audit.";
            repository.ConsecutiveFailures++;
            repository.NextAttemptAfter = now + Backoff(repository.ConsecutiveFailures, options.Value);
        }

        // The run's record must land even when the caller has gone away.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>The egress policy (<see cref="RemoteHosts"/>): why the URL may not be used, or null.</summary>
    private Task<string?> RefusalAsync(string url, CancellationToken ct) => RemoteHosts.CheckAsync(url, options.Value.AllowPrivateNetworkRemotes, ct);

    /// <summary>A refusal fails the run (source) or the target, with the reason.</summary>
    private async Task EnsureReachableAsync(string url, CancellationToken ct)
    {
        if (await RefusalAsync(url, ct) is { } refused)
        {
            throw new ArgumentException(refused);
        }
    }

    private async Task SyncTargetAsync(Repository repository, SyncTarget target, SyncRun run, string mirrorPath, RefFilter filter, CancellationToken ct)
    {
        TargetSyncResult result;
        try
        {
            await EnsureReachableAsync(target.Url, ct);
            var credential = ToGitCredential(protector.Open(target.Credential, CredentialProtector.TargetContext(target.Id)));
            result = await engine.SyncTargetAsync(mirrorPath, new MirrorTarget(target.Name, target.Url, credential, target.ProtectedRefs), filter, ct);
        }
        catch (Exception e) when (e is GitCommandException or CryptographicException or IOException or ArgumentException)
        {
            result = new TargetSyncResult(target.Name, [], GitCli.Redact(e.Message));
        }

        foreach (var update in result.Updates.Where(u => u.Kind != RefUpdateKind.UpToDate))
        {
            Audit(repository, run, target.Name, update);
        }

        var refused = result.Updates.Count(u => u.IsProblem);
        run.RefsUpdated += result.Updates.Count(u => u.IsChange);
        run.RefsRefused += refused;
        target.RefusedRefs = refused;
        target.LagCommits = await LagAsync(mirrorPath, result.Updates.Where(u => u.IsProblem), ct);
        target.LastError = result.Error ?? (refused > 0
            ? string.Join(" ", result.Updates.Where(u => u.IsProblem).Select(u => u.Message).Take(5))
            : null);
        if (result.Succeeded)
        {
            target.LastSuccessAt = time.GetUtcNow();
        }
    }

    /// <summary>Commits of the source's refs that the target lacks, over the refs it refused (unknown old ids count as 0).</summary>
    private async Task<int> LagAsync(string mirrorPath, IEnumerable<RefUpdate> refused, CancellationToken ct)
    {
        var lag = 0;
        foreach (var update in refused.Where(u => u.NewId is not null))
        {
            string[] range = update.OldId is null ? ["rev-list", "--count", update.NewId!] : ["rev-list", "--count", update.NewId!, "^" + update.OldId];
            var count = await git.RunAsync(mirrorPath, range, ct, engine.Options.LocalTimeout);
            if (count.Succeeded && int.TryParse(count.StandardOutput.Trim(), out var n))
            {
                lag += n;
            }
        }

        return lag;
    }

    private void Audit(Repository repository, SyncRun run, string target, RefUpdate update)
    {
        if (update.Forced)
        {
            // History was rewritten on a target: also in the platform's hash-chained audit log.
            audit.Enqueue(new AuditEvent($"sync:{run.Trigger}", "ref.forced", $"repository:{repository.Id}", new
            {
                target,
                @ref = update.Ref,
                oldId = update.OldId,
                newId = update.NewId,
                runId = run.Id,
            }));
        }

        AddRefUpdateAudit(repository, run, target, update);
    }

    private void AddRefUpdateAudit(Repository repository, SyncRun run, string target, RefUpdate update) =>
        db.RefUpdateAudit.Add(new RefUpdateAudit
        {
            RepositoryId = repository.Id,
            RunId = run.Id,
            Target = target,
            Ref = update.Ref,
            OldId = update.OldId,
            NewId = update.NewId,
            Kind = update.Kind.ToString(),
            Forced = update.Forced,
            Trigger = run.Trigger,
            Message = update.Message is null ? null : GitCli.Redact(update.Message),
            At = time.GetUtcNow(),
        });

    public static string MirrorPath(MonorepoOptions options, Guid repositoryId) =>
        Path.Combine(options.StoragePath, "mirrors", repositoryId.ToString("N") + ".git");

    /// <summary>Exponential from the initial delay, capped, with ±20 % jitter so failing repositories do not retry in step.</summary>
    public static TimeSpan Backoff(int failures, MonorepoOptions options)
    {
        var exponent = Math.Min(Math.Max(failures - 1, 0), 20);
        var delay = Math.Min(options.InitialBackoff.TotalSeconds * Math.Pow(2, exponent), options.MaxBackoff.TotalSeconds);
        var jitter = 0.8 + (RandomNumberGenerator.GetInt32(0, 401) / 1000.0);
        return TimeSpan.FromSeconds(Math.Min(delay * jitter, options.MaxBackoff.TotalSeconds));
    }

    public static GitCredential? ToGitCredential(StoredCredential? stored) => stored?.Kind switch
    {
        null => null,
        StoredCredential.HttpsToken => new HttpsTokenCredential(stored.Username ?? "git", stored.Token ?? ""),
        StoredCredential.SshKey => new SshKeyCredential(stored.PrivateKey ?? "", stored.KnownHosts ?? ""),
        _ => throw new ArgumentException($"Unknown credential kind '{stored.Kind}'."),
    };

    public static long LockKey(Guid repositoryId) => BitConverter.ToInt64(repositoryId.ToByteArray(), 0) ^ 0x4865616479L;

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, Guid repositoryId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
        command.Parameters.AddWithValue("key", LockKey(repositoryId));
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task UnlockAsync(NpgsqlConnection connection, Guid repositoryId)
    {
        // Closing the connection would release the lock too; unlocking first keeps pooled connections clean.
        await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
        command.Parameters.AddWithValue("key", LockKey(repositoryId));
        await command.ExecuteScalarAsync(CancellationToken.None);
    }
}
