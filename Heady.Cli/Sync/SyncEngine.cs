using System.Security.Cryptography;
using Heady.Cli.Api;
using HeadyClouds.Sync.Core.Chunking;
using HeadyClouds.Sync.Core.Conflicts;
using HeadyClouds.Sync.Core.Protocol;

namespace Heady.Cli.Sync;

public sealed record SyncOptions(string Device)
{
    /// <summary>Chunk-pack bodies are cut at this size (the server accepts up to 64 MiB).</summary>
    public int PackTargetBytes { get; init; } = 16 * 1024 * 1024;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Files downloaded at the same time.</summary>
    public int DownloadParallelism { get; init; } = 8;
}

/// <summary>
/// Two-way sync of one folder with one workspace. A run: scan (stat-compare against the state, hash only what
/// changed) → push (renames as moves, only the chunks the server lacks, batch commits against the base version,
/// deletions against the base version) → pull (everything after the saved cursor; downloads reuse chunks already on
/// disk). Conflicts never lose bytes: the losing side becomes a conflict copy (on the server when our commit was
/// stale, locally when a pulled change meets an unpushed local edit). State is saved per file as it completes and
/// the cursor only after a pull with no failures, so an interrupted run resumes where it stopped; chunks that reached
/// the server are not sent again (the missing-chunks query).
/// </summary>
public sealed class SyncEngine(HeadyApiClient api, LocalState state, string root, Guid workspace, SyncOptions options, ISyncProgress? progress = null)
{
    private readonly ISyncProgress progress = progress ?? NoProgress.Instance;
    private readonly string root = Path.GetFullPath(root);

    /// <summary>The same engine reporting to another progress sink.</summary>
    public SyncEngine WithProgress(ISyncProgress sink) => new(api, state, root, workspace, options, sink);

    private sealed record Prepared(LocalFile File, string ContentHash, List<LocalChunk> Chunks, FileRecord? Previous);

    public async Task<SyncReport> RunAsync(SyncDirection direction = SyncDirection.Both, CancellationToken ct = default)
    {
        var report = new SyncReport();
        var ignore = IgnoreRules.Load(root);
        if (direction != SyncDirection.Pull)
        {
            await PushAsync(ignore, report, ct);
        }

        if (direction != SyncDirection.Push)
        {
            await PullAsync(ignore, report, ct);
        }

        report.Cursor = state.Cursor;
        return report;
    }

    // ---------------- scan ----------------

    private async Task<(List<Prepared> Changed, List<FileRecord> Deleted)> ScanAsync(IgnoreRules ignore, SyncReport report, CancellationToken ct)
    {
        progress.Status("Scanning");
        var scan = Scanner.Scan(root, ignore);
        report.Skipped.AddRange(scan.Skipped);
        report.FilesScanned = scan.Files.Count;
        var known = state.AllFiles();
        var changed = new List<Prepared>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in scan.Files)
        {
            seen.Add(file.Path);
            known.TryGetValue(file.Path, out var previous);
            if (previous is not null && previous.Size == file.Size && previous.MtimeTicks == file.MtimeTicks && previous.Inode == file.Inode)
            {
                continue; // unchanged by stat: not read again
            }

            Prepared prepared;
            try
            {
                prepared = await HashAsync(file, previous, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                report.Failed.Add(new SkippedEntry(file.Path, $"unreadable ({e.Message})"));
                continue;
            }

            report.FilesHashed++;
            if (previous is not null && previous.ContentHash == prepared.ContentHash)
            {
                state.Upsert(previous with { Size = file.Size, MtimeTicks = file.MtimeTicks, Inode = file.Inode }); // touched, same bytes
                continue;
            }

            changed.Add(prepared);
        }

        var deleted = known.Values
            .Where(r => !seen.Contains(r.Path))
            .Where(r =>
            {
                if (!ignore.IsIgnored(r.Path, false))
                {
                    return true;
                }

                state.Delete(r.Path); // newly ignored: forget it locally, leave it on the server
                return false;
            })
            .ToList();
        return (changed, deleted);
    }

    private static async Task<Prepared> HashAsync(LocalFile file, FileRecord? previous, CancellationToken ct)
    {
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunks = new List<LocalChunk>();
        await using var stream = OpenRead(file.FullPath);
        await foreach (var chunk in StreamChunker.ChunkAsync(stream, ChunkerOptions.Default, ct))
        {
            whole.AppendData(chunk.Data.Span);
            chunks.Add(new LocalChunk(chunk.Id.Value, chunk.Length));
        }

        return new Prepared(file, Convert.ToHexStringLower(whole.GetHashAndReset()), chunks, previous);
    }

    private static FileStream OpenRead(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0, Options = FileOptions.Asynchronous | FileOptions.SequentialScan });

    // ---------------- push ----------------

    private async Task PushAsync(IgnoreRules ignore, SyncReport report, CancellationToken ct)
    {
        var (changed, deleted) = await ScanAsync(ignore, report, ct);
        if (changed.Count == 0 && deleted.Count == 0)
        {
            return;
        }

        await DetectRenamesAsync(changed, deleted, report, ct);
        await UploadMissingChunksAsync(changed, report, ct);
        await CommitAsync(changed, report, ct);
        foreach (var gone in deleted)
        {
            ct.ThrowIfCancellationRequested();
            var deletedRemotely = await api.DeleteFileAsync(workspace, gone.Path, gone.VersionId, ct);
            state.Delete(gone.Path); // either way: if the server kept a newer edit (edit wins), the pull brings it back
            if (deletedRemotely)
            {
                report.DeletedRemotely.Add(gone.Path);
            }
            else
            {
                report.Conflicts.Add($"{gone.Path}: deleted here but edited elsewhere; the edit was kept and is downloaded again");
            }
        }
    }

    /// <summary>A deleted file and a new file with the same content are a rename: a server-side move, no upload.</summary>
    private async Task DetectRenamesAsync(List<Prepared> changed, List<FileRecord> deleted, SyncReport report, CancellationToken ct)
    {
        foreach (var created in changed.Where(c => c.Previous is null).ToList())
        {
            var source = deleted.FirstOrDefault(d => d.ContentHash == created.ContentHash && d.Size == created.File.Size);
            if (source is null)
            {
                continue;
            }

            var moved = await api.MoveAsync(workspace, new MoveRequest(source.Path, created.File.Path, source.VersionId), ct);
            if (moved is null)
            {
                continue; // stale or occupied on the server: fall back to upload + delete
            }

            deleted.Remove(source);
            changed.Remove(created);
            state.Delete(source.Path);
            state.Upsert(Record(created.File, created.ContentHash, created.Chunks, moved.Id));
            report.Renamed.Add($"{source.Path} -> {created.File.Path}");
        }
    }

    private async Task UploadMissingChunksAsync(List<Prepared> changed, SyncReport report, CancellationToken ct)
    {
        if (changed.Count == 0)
        {
            return;
        }

        progress.Status("Checking which chunks the server lacks");
        var missing = await api.MissingChunksAsync(workspace, changed.SelectMany(c => c.Chunks.Select(k => k.Id)).ToList(), ct);
        if (missing.Count == 0)
        {
            return;
        }

        var sizes = changed.SelectMany(c => c.Chunks).Where(k => missing.Contains(k.Id)).DistinctBy(k => k.Id).Sum(k => (long)k.Length);
        progress.BeginTransfer("Uploading", sizes);
        var pack = new MemoryStream();
        var writer = new ChunkPackWriter(pack);
        async Task FlushAsync()
        {
            if (writer.RecordCount == 0)
            {
                return;
            }

            var answer = await api.UploadChunksAsync(workspace, pack.GetBuffer().AsMemory(0, (int)pack.Length), ct);
            report.ChunksUploaded += writer.RecordCount;
            report.ChunksStoredByServer += answer.Stored.Count;
            pack.SetLength(0);
            writer = new ChunkPackWriter(pack);
        }

        foreach (var file in changed.Where(c => c.Chunks.Any(k => missing.Contains(k.Id))))
        {
            try
            {
                // Only the missing chunks are read again, at the offsets the scan found (a 1-byte edit in a 1 GiB file
                // reads ~1 MiB here, not the file). A file changed since the scan yields other bytes: that chunk is
                // left out and the file's commit reports it missing; it is retried on the next run.
                await using var stream = OpenRead(file.File.FullPath);
                long offset = 0;
                foreach (var chunk in file.Chunks)
                {
                    var at = offset;
                    offset += chunk.Length;
                    if (!missing.Contains(chunk.Id))
                    {
                        continue;
                    }

                    var data = new byte[chunk.Length];
                    stream.Position = at;
                    if (await stream.ReadAtLeastAsync(data, data.Length, throwOnEndOfStream: false, ct) != data.Length
                        || ChunkId.Compute(data).Value != chunk.Id)
                    {
                        continue;
                    }

                    missing.Remove(chunk.Id);
                    await writer.WriteAsync(ChunkId.Parse(chunk.Id), data, ct);
                    report.BytesUploaded += chunk.Length;
                    progress.Advance(chunk.Length);
                    if (pack.Length >= options.PackTargetBytes)
                    {
                        await FlushAsync();
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                report.Failed.Add(new SkippedEntry(file.File.Path, $"unreadable ({e.Message})"));
            }
        }

        await FlushAsync();
        progress.EndTransfer();
    }

    private async Task CommitAsync(List<Prepared> changed, SyncReport report, CancellationToken ct)
    {
        foreach (var batch in changed.Chunk(SyncApi.MaxFilesPerCommit))
        {
            progress.Status($"Committing {batch.Length} file(s)");
            var requests = batch.Select(p => new CommitFileRequest(
                p.File.Path,
                p.Previous?.VersionId,
                p.Chunks.Select(k => k.Id).ToList(),
                p.File.Size,
                p.ContentHash,
                new DateTimeOffset(p.File.MtimeTicks, TimeSpan.Zero),
                p.File.Mode,
                options.Device)).ToList();
            var answer = await api.CommitAsync(workspace, requests, ct);
            using var tx = state.BeginTransaction();
            foreach (var (prepared, result) in batch.Zip(answer.Results))
            {
                switch (result.Outcome)
                {
                    case CommitOutcomes.Committed or CommitOutcomes.Unchanged when result.Version is not null:
                        state.Upsert(Record(prepared.File, prepared.ContentHash, prepared.Chunks, result.Version.Id));
                        if (result.Outcome == CommitOutcomes.Committed)
                        {
                            report.Uploaded.Add(prepared.File.Path);
                        }

                        break;
                    case CommitOutcomes.Conflict when result.ConflictCopyPath is not null && result.Version is not null:
                        KeepOursAsConflictCopy(prepared, result.ConflictCopyPath, result.Version.Id, report);
                        break;
                    default:
                        report.Failed.Add(new SkippedEntry(prepared.File.Path,
                            result.Error ?? $"the server answered '{result.Outcome}'"
                            + (result.MissingChunks is { Count: > 0 } m ? $" ({m.Count} chunk(s) missing: the file changed during the sync; it is retried next run)" : "")));
                        break;
                }
            }

            tx.Commit();
        }
    }

    /// <summary>
    /// Our commit was stale: the server kept our bytes as a conflict copy. Rename the local file to that name (same
    /// bytes, no transfer) and forget the original path, so the pull downloads the winner into place.
    /// </summary>
    private void KeepOursAsConflictCopy(Prepared prepared, string conflictPath, Guid conflictVersion, SyncReport report)
    {
        var target = LocalPaths.TryResolve(root, conflictPath, out var error);
        if (target is null)
        {
            report.Failed.Add(new SkippedEntry(conflictPath, $"refused conflict-copy name from the server: {error}"));
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(prepared.File.FullPath, target, overwrite: false);
        var moved = Scanner.StatFile(root, target);
        if (moved is not null)
        {
            state.Upsert(Record(moved, prepared.ContentHash, prepared.Chunks, conflictVersion));
        }

        state.Delete(prepared.File.Path);
        report.Conflicts.Add($"{prepared.File.Path}: changed on both sides; yours is kept as '{conflictPath}'");
    }

    private static FileRecord Record(LocalFile file, string hash, IReadOnlyList<LocalChunk> chunks, Guid version) =>
        new(file.Path, file.Size, file.MtimeTicks, file.Inode, hash, chunks, version);

    // ---------------- pull ----------------

    private async Task PullAsync(IgnoreRules ignore, SyncReport report, CancellationToken ct)
    {
        progress.Status("Fetching remote changes");
        var cursor = state.Cursor;
        var latest = new Dictionary<string, ChangeInfo>(StringComparer.Ordinal);
        string newCursor;
        while (true)
        {
            var page = await api.ChangesAsync(workspace, cursor, 1000, ct);
            foreach (var change in page.Changes)
            {
                latest[change.Path] = change;
            }

            newCursor = page.Cursor;
            if (!page.HasMore || page.Cursor == cursor)
            {
                break;
            }

            cursor = page.Cursor;
        }

        var failuresBefore = report.Failed.Count;
        var changes = latest.Values.OrderBy(c => c.Seq).ToList();
        var downloads = new List<(ChangeInfo Change, string Target)>();
        var deletions = new List<(string Path, string Target)>();
        foreach (var change in changes)
        {
            ct.ThrowIfCancellationRequested();
            var target = LocalPaths.TryResolve(root, change.Path, out var error);
            if (target is null)
            {
                report.Failed.Add(new SkippedEntry(change.Path, $"refused name from the server: {error}"));
                continue;
            }

            if (ignore.IsIgnored(change.Path, false))
            {
                continue;
            }

            var record = state.Get(change.Path);
            var local = Scanner.StatFile(root, target);
            var localUnchanged = local is not null && record is not null
                && local.Size == record.Size && local.MtimeTicks == record.MtimeTicks && local.Inode == record.Inode;
            if (change.Deleted || change.Version is null)
            {
                if (record is null)
                {
                    continue; // never synced here: a local file of that name is a new local file, left alone
                }

                if (localUnchanged)
                {
                    // After the downloads: a file renamed elsewhere arrives as delete + create, and the new name's
                    // chunks are then still here to copy instead of download.
                    deletions.Add((change.Path, target));
                    continue;
                }
                else if (local is not null)
                {
                    report.Conflicts.Add($"{change.Path}: deleted elsewhere but edited here; your edit is kept (uploaded on the next push)");
                }

                state.Delete(change.Path);
                continue;
            }

            if (record is not null && record.VersionId == change.Version.Id)
            {
                continue; // already have it (our own commit, or the conflict copy we renamed)
            }

            if (local is not null && !localUnchanged)
            {
                // An edit here that the server has not seen (pull-only, or made during this run). Same bytes: adopt.
                var prepared = await HashAsync(local, record, ct);
                if (prepared.ContentHash == change.Version.ContentHash)
                {
                    state.Upsert(Record(local, prepared.ContentHash, prepared.Chunks, change.Version.Id));
                    continue;
                }

                var copyPath = ConflictCopy.PathFor(change.Path, options.Time.GetUtcNow(), options.Device);
                var copyTarget = LocalPaths.TryResolve(root, copyPath, out error);
                if (copyTarget is null || File.Exists(copyTarget))
                {
                    report.Failed.Add(new SkippedEntry(change.Path, $"changed on both sides and no conflict-copy name is free ({error ?? copyPath})"));
                    continue;
                }

                File.Move(target, copyTarget);
                state.Delete(change.Path);
                report.Conflicts.Add($"{change.Path}: changed on both sides; yours is kept as '{copyPath}'");
            }

            downloads.Add((change, target));
        }

        if (downloads.Count > 0)
        {
            progress.BeginTransfer("Downloading", downloads.Sum(d => d.Change.Version!.Size));
            var localChunks = LocalChunkIndex();
            var gate = new Lock();
            // Single-chunk files (no larger than the minimum chunk size) whose chunk is not on disk are fetched in
            // batches (`POST chunks/fetch`: hundreds of files a request, instead of a GET each); the rest one by one.
            var batched = downloads
                .Where(d => d.Change.Version!.Size > 0 && d.Change.Version.Size <= ChunkerOptions.Default.MinSize && !localChunks.ContainsKey(d.Change.Version.ContentHash))
                .ToList();
            var batches = FetchBatches(batched);
            var single = downloads.Except(batched).Select(d => (Items: new[] { d }, Ids: (string[]?)null));
            // Several requests at a time: small files are latency-bound. The SQLite state, the report and the progress
            // bar are touched under the lock only.
            await Parallel.ForEachAsync(batches.Concat(single), new ParallelOptions { MaxDegreeOfParallelism = options.DownloadParallelism, CancellationToken = ct }, async (work, token) =>
            {
                // An older server without the route, or a chunk gone meanwhile: each file is then fetched on its own.
                var prefetched = work.Ids is null ? EmptyChunks : await FetchBatchAsync(work.Ids, report, gate, token) ?? EmptyChunks;

                foreach (var (change, target) in work.Items)
                {
                    try
                    {
                        var record = await DownloadAsync(change.Path, change.Version!, target, localChunks, prefetched, report, gate, token);
                        lock (gate)
                        {
                            state.Upsert(record);
                            report.Downloaded.Add(change.Path);
                        }
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or HeadyApiException or InvalidDataException)
                    {
                        lock (gate)
                        {
                            report.Failed.Add(new SkippedEntry(change.Path, $"download failed ({e.Message})"));
                        }
                    }
                }
            });

            progress.EndTransfer();
        }

        foreach (var (path, target) in deletions)
        {
            var record = state.Get(path);
            var local = Scanner.StatFile(root, target);
            if (record is not null && local is not null && (local.Size != record.Size || local.MtimeTicks != record.MtimeTicks || local.Inode != record.Inode))
            {
                report.Conflicts.Add($"{path}: deleted elsewhere but edited here; your edit is kept (uploaded on the next push)");
            }
            else if (local is not null)
            {
                File.Delete(target);
                RemoveEmptyFolders(Path.GetDirectoryName(target)!);
                report.DeletedLocally.Add(path);
            }

            state.Delete(path);
        }

        if (report.Failed.Count == failuresBefore)
        {
            state.Cursor = newCursor; // only when everything up to it is applied: a failed file is retried next run
        }
    }

    private static readonly Dictionary<string, byte[]> EmptyChunks = new(StringComparer.Ordinal);

    /// <summary>Single-chunk downloads grouped so that each group's distinct chunks fit one `chunks/fetch` answer.</summary>
    private static List<((ChangeInfo Change, string Target)[] Items, string[]? Ids)> FetchBatches(List<(ChangeInfo Change, string Target)> downloads)
    {
        var batches = new List<((ChangeInfo, string)[], string[]?)>();
        var items = new List<(ChangeInfo, string)>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        long bytes = 0;
        foreach (var download in downloads)
        {
            var version = download.Change.Version!;
            var isNew = !ids.Contains(version.ContentHash);
            if (isNew && items.Count > 0 && (ids.Count == SyncApi.MaxChunkIdsPerFetch || bytes + version.Size > SyncApi.MaxChunkFetchBytes))
            {
                batches.Add(([.. items], [.. ids]));
                items.Clear();
                ids.Clear();
                bytes = 0;
                isNew = true;
            }

            if (isNew)
            {
                ids.Add(version.ContentHash);
                bytes += version.Size;
            }

            items.Add(download);
        }

        if (items.Count > 0)
        {
            batches.Add(([.. items], [.. ids]));
        }

        return batches;
    }

    /// <summary>Folders emptied by remote deletions go too (up to, not including, the root); empty folders are not synced.</summary>
    private void RemoveEmptyFolders(string dir)
    {
        while (dir.Length > root.Length && dir.StartsWith(root, StringComparison.Ordinal) && Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
            dir = Path.GetDirectoryName(dir)!;
        }
    }

    /// <summary>Where each chunk id can be read from on disk, according to the state (verified when read).</summary>
    private Dictionary<string, (string Path, long Offset, int Length)> LocalChunkIndex()
    {
        var index = new Dictionary<string, (string, long, int)>(StringComparer.Ordinal);
        foreach (var record in state.AllFiles().Values)
        {
            long offset = 0;
            foreach (var chunk in record.Chunks)
            {
                index.TryAdd(chunk.Id, (record.Path, offset, chunk.Length));
                offset += chunk.Length;
            }
        }

        return index;
    }

    private async Task<FileRecord> DownloadAsync(string path, FileVersionInfo version, string target, Dictionary<string, (string Path, long Offset, int Length)> localChunks,
        IReadOnlyDictionary<string, byte[]> prefetched, SyncReport report, Lock gate, CancellationToken ct)
    {
        // A file no larger than the minimum chunk size is one chunk whose id is the file's hash: no need to ask for
        // the chunk list (half the requests for a folder of small files).
        IReadOnlyList<ChunkRef> chunkRefs = version.Size == 0
            ? []
            : version.Size <= ChunkerOptions.Default.MinSize
                ? [new ChunkRef(version.ContentHash, 0, (int)version.Size)]
                : (await api.FileInfoAsync(workspace, path, version.Id, ct)).Chunks;
        var temp = Path.Combine(LocalState.DirectoryOf(root), "tmp", Guid.NewGuid().ToString("N"));
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunks = new List<LocalChunk>();
        // Nothing of it on disk: one streamed request (the server reads ahead) beats a request per chunk.
        var streamWhole = chunkRefs.Count > 1 && !chunkRefs.Any(c => localChunks.ContainsKey(c.Id));
        try
        {
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                if (streamWhole)
                {
                    using var response = await api.FileContentAsync(workspace, path, version.Id, ct);
                    await using var body = await response.Content.ReadAsStreamAsync(ct);
                    var buffer = new byte[1 << 20];
                    int read;
                    while ((read = await body.ReadAsync(buffer, ct)) > 0)
                    {
                        whole.AppendData(buffer, 0, read);
                        await output.WriteAsync(buffer.AsMemory(0, read), ct);
                        lock (gate)
                        {
                            report.BytesDownloaded += read;
                            progress.Advance(read);
                        }
                    }

                    // The chunk list is only a hint for later local reuse (every reuse re-verifies the hash).
                    chunks.AddRange(chunkRefs.Select(c => new LocalChunk(c.Id, c.Size)));
                    lock (gate)
                    {
                        report.ChunksDownloaded += chunkRefs.Count;
                    }
                }

                var window = prefetched;
                var windowsFail = false; // once a batch failed, the rest go chunk by chunk rather than asking again
                for (var i = 0; i < (streamWhole ? 0 : chunkRefs.Count); i++)
                {
                    var chunk = chunkRefs[i];
                    var data = await ReadLocalChunkAsync(chunk, localChunks, ct);
                    if (data is not null)
                    {
                        lock (gate)
                        {
                            report.ChunksReused++;
                        }
                    }
                    else
                    {
                        // Prefetched chunks (counted when fetched) were verified when the pack was read; checked again all the same.
                        var wasFetched = window.TryGetValue(chunk.Id, out data);
                        if (!wasFetched && chunkRefs.Count > 1 && !windowsFail)
                        {
                            var fetched = await FetchAheadAsync(chunkRefs, i, localChunks, report, gate, ct);
                            windowsFail = fetched is null;
                            window = fetched ?? EmptyChunks;
                            wasFetched = window.TryGetValue(chunk.Id, out data);
                        }

                        data ??= await api.GetChunkAsync(workspace, chunk.Id, ct);
                        if (ChunkId.Compute(data).Value != chunk.Id)
                        {
                            throw new InvalidDataException($"chunk {chunk.Id} from the server does not match its hash");
                        }

                        if (!wasFetched)
                        {
                            lock (gate)
                            {
                                report.ChunksDownloaded++;
                                report.BytesDownloaded += data.Length;
                            }
                        }
                    }

                    whole.AppendData(data);
                    await output.WriteAsync(data, ct);
                    chunks.Add(new LocalChunk(chunk.Id, data.Length));
                    lock (gate)
                    {
                        progress.Advance(data.Length);
                    }
                }
            }

            var hash = Convert.ToHexStringLower(whole.GetHashAndReset());
            if (hash != version.ContentHash)
            {
                throw new InvalidDataException($"the assembled file hashes to {hash}, not {version.ContentHash}");
            }

            File.SetLastWriteTimeUtc(temp, version.ModifiedAt.UtcDateTime);
            if (!OperatingSystem.IsWindows() && version.Mode != 0)
            {
                // Permission bits only, and always readable/writable by the owner (setuid/setgid/sticky never applied).
                File.SetUnixFileMode(temp, (UnixFileMode)(version.Mode & 0x1FF) | UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            // Re-checked right before the move: a folder of the path may have been replaced by a link meanwhile.
            if (LocalPaths.TryResolve(root, path, out var error) is null)
            {
                throw new IOException($"refused: {error}");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }

        var stat = Scanner.StatFile(root, target) ?? throw new IOException($"{path} vanished right after it was written");
        return Record(stat, version.ContentHash, chunks, version.Id);
    }

    /// <summary>
    /// The chunks not on disk from <paramref name="start"/> on, in file order, as many as one `chunks/fetch` answer holds:
    /// a file partly here (edited elsewhere in several places) costs a request per window, not one per chunk, and only
    /// one window is held in memory. Empty when there is one chunk to get (a GET does); null when the fetch failed.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, byte[]>?> FetchAheadAsync(IReadOnlyList<ChunkRef> chunkRefs, int start,
        Dictionary<string, (string Path, long Offset, int Length)> localChunks, SyncReport report, Lock gate, CancellationToken ct)
    {
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long bytes = 0;
        for (var i = start; i < chunkRefs.Count && ids.Count < SyncApi.MaxChunkIdsPerFetch; i++)
        {
            var chunk = chunkRefs[i];
            // The one asked for is not readable here even if the index names it (the local file changed since).
            if ((i != start && localChunks.ContainsKey(chunk.Id)) || !seen.Add(chunk.Id))
            {
                continue;
            }

            var size = chunk.Size >= 0 ? chunk.Size : ChunkerOptions.Default.MaxSize;
            if (ids.Count > 0 && bytes + size > SyncApi.MaxChunkFetchBytes)
            {
                break;
            }

            ids.Add(chunk.Id);
            bytes += size;
        }

        return ids.Count < 2 ? EmptyChunks : await FetchBatchAsync(ids, report, gate, ct);
    }

    /// <summary>One `chunks/fetch`, counted in the report; null when it failed (older server without the route, a chunk gone).</summary>
    private async Task<IReadOnlyDictionary<string, byte[]>?> FetchBatchAsync(IReadOnlyList<string> ids, SyncReport report, Lock gate, CancellationToken ct)
    {
        try
        {
            var fetched = await api.FetchChunksAsync(workspace, ids, ct);
            lock (gate)
            {
                report.ChunksDownloaded += fetched.Count;
                report.BytesDownloaded += fetched.Values.Sum(c => (long)c.Length);
            }

            return fetched;
        }
        catch (Exception e) when (e is HeadyApiException or ChunkPackFormatException or IOException)
        {
            return null;
        }
    }

    private async Task<byte[]?> ReadLocalChunkAsync(ChunkRef chunk, Dictionary<string, (string Path, long Offset, int Length)> localChunks, CancellationToken ct)
    {
        if (!localChunks.TryGetValue(chunk.Id, out var source) || LocalPaths.TryResolve(root, source.Path, out _) is not { } file)
        {
            return null;
        }

        try
        {
            var data = new byte[source.Length];
            await using var stream = OpenRead(file);
            stream.Position = source.Offset;
            await stream.ReadExactlyAsync(data, ct);
            return ChunkId.Compute(data).Value == chunk.Id ? data : null; // the file may have changed since
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
