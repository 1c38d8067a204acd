namespace SyncManager.Jobs;

/// <summary>What to run and when: a job type, its payload, a cron schedule (optional) and the retry policy.</summary>
public sealed class JobDefinition
{
    public Guid Id { get; init; }

    public required string Name { get; set; }

    public required string Type { get; set; }

    /// <summary>Five-field cron expression (Cronos); null for on-demand only.</summary>
    public string? Cron { get; set; }

    /// <summary>IANA time zone the cron expression is read in.</summary>
    public string TimeZone { get; set; } = "UTC";

    public bool Enabled { get; set; } = true;

    /// <summary>JSON object handed to the job's handler.</summary>
    public string Payload { get; set; } = "{}";

    public int MaxAttempts { get; set; } = 5;

    public int BackoffBaseSeconds { get; set; } = 30;

    public int BackoffMaxSeconds { get; set; } = 3600;

    public int LeaseSeconds { get; set; } = 60;

    /// <summary>The next cron occurrence the scheduler will enqueue (UTC); null when not scheduled.</summary>
    public DateTimeOffset? NextRunAt { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }
}

public static class JobStates
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Dead = "dead";
    public const string Cancelled = "cancelled";

    public static readonly string[] All = [Pending, Running, Succeeded, Failed, Dead, Cancelled];
}

public static class AttemptOutcomes
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string LeaseExpired = "lease-expired";
    public const string Cancelled = "cancelled";

    /// <summary>The worker shut down mid-attempt and handed the job back.</summary>
    public const string Interrupted = "interrupted";
}

public static class JobTriggers
{
    public const string Schedule = "schedule";
    public const string Api = "api";
    public const string Requeue = "requeue";
}

/// <summary>
/// One run of a definition (the queue entry). The retry policy is copied from the definition when enqueued, so
/// editing a definition never changes runs already queued.
/// </summary>
public sealed class Job
{
    public Guid Id { get; init; }

    public Guid DefinitionId { get; init; }

    public required string Type { get; init; }

    public required string Payload { get; init; }

    public required string State { get; set; }

    public required string Trigger { get; init; }

    /// <summary>The cron occurrence this run is for; unique per definition, so replicas never enqueue it twice.</summary>
    public DateTimeOffset? ScheduledFor { get; init; }

    /// <summary>Caller-chosen key of an on-demand run; unique, so a retried request does not enqueue twice.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Number of attempts started so far.</summary>
    public int Attempt { get; set; }

    public int MaxAttempts { get; set; }

    public int BackoffBaseSeconds { get; init; }

    public int BackoffMaxSeconds { get; init; }

    public int LeaseSeconds { get; init; }

    /// <summary>Not claimed before this time (retry backoff).</summary>
    public DateTimeOffset RunAfter { get; set; }

    public string? LeaseOwner { get; set; }

    public DateTimeOffset? LeaseExpiresAt { get; set; }

    public DateTimeOffset? HeartbeatAt { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public DateTimeOffset? CancelRequestedAt { get; set; }

    public string? LastError { get; set; }

    /// <summary>The handler's summary of a successful run.</summary>
    public string? Result { get; set; }

    public List<JobAttempt> Attempts { get; init; } = [];
}

public sealed class JobAttempt
{
    public long Id { get; init; }

    public Guid JobId { get; init; }

    public int Attempt { get; init; }

    public required string Worker { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; set; }

    public required string Outcome { get; set; }

    public string? Error { get; set; }
}
