namespace HeadyMe.Sync.Domain;

/// <summary>An admin's per-user override of <see cref="HeadyMeOptions.QuotaBytes"/>; no row means the default applies.</summary>
public sealed class UserQuota
{
    /// <summary>The platform user (SyncManager's id); HeadyMe.Sync keeps no user table, so any id may have an override.</summary>
    public Guid UserId { get; init; }

    /// <summary>Logical bytes the user may keep in the workspaces they own; 0 = nothing that adds bytes can be written.</summary>
    public long LimitBytes { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The admin who set it last.</summary>
    public Guid UpdatedBy { get; set; }
}
