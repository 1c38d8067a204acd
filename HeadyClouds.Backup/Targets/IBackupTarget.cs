namespace HeadyClouds.Backup.Targets;

/// <summary>
/// Where backups are written: flat keys (<c>{backupId}/header.json</c>, <c>{backupId}/parts/0003/00000012</c>), each a
/// bounded-size object (one sealed segment), so no operation ever needs a ranged read or the whole backup in memory.
/// </summary>
public interface IBackupTarget
{
    /// <summary>For messages: "bucket platform-backups", "directory /backups".</summary>
    string Description { get; }

    Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct);

    /// <summary>Reads the whole object into <paramref name="buffer"/>; null when it does not exist.</summary>
    /// <exception cref="Format.BackupIntegrityException">The object is larger than the buffer (a segment can never be).</exception>
    Task<int?> ReadAsync(string key, Memory<byte> buffer, CancellationToken ct);

    /// <summary>Backup ids present (every id that has at least one object).</summary>
    IAsyncEnumerable<string> ListBackupIdsAsync(CancellationToken ct);

    Task DeleteBackupAsync(string backupId, CancellationToken ct);
}

/// <summary>Writes to every target (the bucket and the optional independent second copy); reads from the first.</summary>
public sealed class MirroredTarget(IReadOnlyList<IBackupTarget> targets) : IBackupTarget
{
    public string Description => string.Join(" + ", targets.Select(t => t.Description));

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        foreach (var target in targets)
        {
            await target.PutAsync(key, content, ct);
        }
    }

    public Task<int?> ReadAsync(string key, Memory<byte> buffer, CancellationToken ct) => targets[0].ReadAsync(key, buffer, ct);

    public IAsyncEnumerable<string> ListBackupIdsAsync(CancellationToken ct) => targets[0].ListBackupIdsAsync(ct);

    public async Task DeleteBackupAsync(string backupId, CancellationToken ct)
    {
        foreach (var target in targets)
        {
            await target.DeleteBackupAsync(backupId, ct);
        }
    }
}
