using System.Runtime.CompilerServices;
using HeadyClouds.Backup.Format;

namespace HeadyClouds.Backup.Targets;

/// <summary>A directory (another disk, a mounted remote file system): the independent second copy.</summary>
public sealed class DirectoryTarget(string root) : IBackupTarget
{
    public string Root { get; } = Path.GetFullPath(root);

    public string Description => $"directory {Root}";

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Written under a temporary name and renamed, so a crash never leaves a half-written segment under its real name.
        var temp = path + ".tmp";
        await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            await file.WriteAsync(content, ct);
        }

        File.Move(temp, path, overwrite: true);
    }

    public async Task<int?> ReadAsync(string key, Memory<byte> buffer, CancellationToken ct)
    {
        var path = PathOf(key);
        if (!File.Exists(path))
        {
            return null;
        }

        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
        if (file.Length > buffer.Length)
        {
            throw new BackupIntegrityException($"{key} in {Description} is {file.Length} bytes, more than any segment can be: tampered.");
        }

        var total = 0;
        int read;
        while ((read = await file.ReadAsync(buffer[total..], ct)) > 0)
        {
            total += read;
        }

        return total;
    }

    public async IAsyncEnumerable<string> ListBackupIdsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await Task.CompletedTask;
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var dir in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            yield return Path.GetFileName(dir);
        }
    }

    public Task DeleteBackupAsync(string backupId, CancellationToken ct)
    {
        var dir = PathOf(backupId);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        return Task.CompletedTask;
    }

    private string PathOf(string key)
    {
        if (key.Length == 0 || key.Contains("..", StringComparison.Ordinal) || key.StartsWith('/') || key.Contains('\\'))
        {
            throw new ArgumentException($"Invalid backup key '{key}'.", nameof(key));
        }

        return Path.Combine(Root, key);
    }
}
