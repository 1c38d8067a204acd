using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Targets;

namespace HeadyClouds.Backup.Tests;

/// <summary>An in-memory target, so the format's tests can tamper with any stored byte without I/O.</summary>
public sealed class MemoryTarget : IBackupTarget
{
    public ConcurrentDictionary<string, byte[]> Objects { get; } = new(StringComparer.Ordinal);

    public string Description => "memory";

    public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        Objects[key] = content.ToArray();
        return Task.CompletedTask;
    }

    public Task<int?> ReadAsync(string key, Memory<byte> buffer, CancellationToken ct)
    {
        if (!Objects.TryGetValue(key, out var data))
        {
            return Task.FromResult<int?>(null);
        }

        if (data.Length > buffer.Length)
        {
            throw new BackupIntegrityException($"{key} is larger than any segment can be: tampered.");
        }

        data.CopyTo(buffer);
        return Task.FromResult<int?>(data.Length);
    }

    public async IAsyncEnumerable<string> ListBackupIdsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await Task.CompletedTask;
        foreach (var id in Objects.Keys.Select(k => k[..k.IndexOf('/')]).Distinct().Order(StringComparer.Ordinal))
        {
            yield return id;
        }
    }

    public Task DeleteBackupAsync(string backupId, CancellationToken ct)
    {
        foreach (var key in Objects.Keys.Where(k => k.StartsWith(backupId + "/", StringComparison.Ordinal)))
        {
            Objects.TryRemove(key, out _);
        }

        return Task.CompletedTask;
    }
}
