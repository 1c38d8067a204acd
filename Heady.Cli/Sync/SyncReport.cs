namespace Heady.Cli.Sync;

public enum SyncDirection
{
    Both,
    Push,
    Pull,
}

/// <summary>What one sync run did; printed as the summary (or as JSON with --json).</summary>
public sealed class SyncReport
{
    public List<string> Uploaded { get; } = [];
    public List<string> Downloaded { get; } = [];
    public List<string> DeletedRemotely { get; } = [];
    public List<string> DeletedLocally { get; } = [];
    public List<string> Renamed { get; } = [];

    /// <summary>Paths where both sides changed; each entry says where the other side's content was kept.</summary>
    public List<string> Conflicts { get; } = [];

    public List<SkippedEntry> Skipped { get; } = [];

    /// <summary>Files that could not be synced this time (rejected, unreadable, refused names); the run is partial.</summary>
    public List<SkippedEntry> Failed { get; } = [];

    public int FilesScanned { get; set; }
    public int FilesHashed { get; set; }
    public int ChunksUploaded { get; set; }
    public long BytesUploaded { get; set; }

    /// <summary>What the server said it newly stored (its own count; the rest it already had).</summary>
    public int ChunksStoredByServer { get; set; }
    public int ChunksDownloaded { get; set; }
    public long BytesDownloaded { get; set; }

    /// <summary>Chunks of downloaded files taken from files already on disk instead of the network.</summary>
    public int ChunksReused { get; set; }

    public string? Cursor { get; set; }

    public bool HasChanges => Uploaded.Count + Downloaded.Count + DeletedRemotely.Count + DeletedLocally.Count + Renamed.Count + Conflicts.Count > 0;
}

/// <summary>Transfer progress for the UI (progress bars); all members may be called from one thread only.</summary>
public interface ISyncProgress
{
    void Status(string message);

    void BeginTransfer(string label, long totalBytes);

    void Advance(long bytes);

    void EndTransfer();
}

public sealed class NoProgress : ISyncProgress
{
    public static readonly NoProgress Instance = new();
    public void Status(string message) { }
    public void BeginTransfer(string label, long totalBytes) { }
    public void Advance(long bytes) { }
    public void EndTransfer() { }
}
