using System.Runtime.InteropServices;

namespace Heady.Cli.Sync;

/// <summary>A regular file found in the folder, with the stat data compared against the state.</summary>
public sealed record LocalFile(string Path, string FullPath, long Size, long MtimeTicks, long Inode, int Mode);

/// <summary>Something the scanner did not sync, and why.</summary>
public sealed record SkippedEntry(string Path, string Reason);

public sealed record ScanResult(List<LocalFile> Files, List<SkippedEntry> Skipped);

/// <summary>
/// Walks the folder. Syncs regular files only: symbolic links (to files or folders) are skipped and reported, never
/// followed (following could upload files outside the folder or loop); FIFOs, sockets and devices are skipped and
/// reported; empty folders are not synced. <c>.heady/</c> and ignored paths are skipped silently.
/// </summary>
public static class Scanner
{
    public static ScanResult Scan(string root, IgnoreRules ignore)
    {
        var files = new List<LocalFile>();
        var skipped = new List<SkippedEntry>();
        var pending = new Stack<string>();
        pending.Push(Path.GetFullPath(root));
        var options = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false };
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            IEnumerable<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", options).ToList();
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                skipped.Add(new SkippedEntry(LocalPaths.ToWorkspacePath(root, dir), $"unreadable folder ({e.Message})"));
                continue;
            }

            foreach (var entry in entries)
            {
                var path = LocalPaths.ToWorkspacePath(root, entry.FullName);
                var isDir = entry is DirectoryInfo;
                if (ignore.IsIgnored(path, isDir))
                {
                    continue;
                }

                if (entry.LinkTarget is not null)
                {
                    skipped.Add(new SkippedEntry(path, "symbolic link (not followed)"));
                    continue;
                }

                if (isDir)
                {
                    pending.Push(entry.FullName);
                    continue;
                }

                var stat = Stat(entry.FullName);
                if (stat is { IsRegular: false })
                {
                    skipped.Add(new SkippedEntry(path, "special file (FIFO, socket or device)"));
                    continue;
                }

                var info = (FileInfo)entry;
                var mode = OperatingSystem.IsWindows() ? 0 : (int)info.UnixFileMode;
                files.Add(new LocalFile(path, entry.FullName, info.Length, info.LastWriteTimeUtc.Ticks, stat?.Inode ?? 0, mode));
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new ScanResult(files, skipped);
    }

    /// <summary>The current stat data of one file, or null when it is not a regular file (any more).</summary>
    public static LocalFile? StatFile(string root, string fullPath)
    {
        var info = new FileInfo(fullPath);
        if (!info.Exists || info.LinkTarget is not null || Stat(fullPath) is { IsRegular: false })
        {
            return null;
        }

        return new LocalFile(LocalPaths.ToWorkspacePath(root, fullPath), fullPath, info.Length, info.LastWriteTimeUtc.Ticks,
            Stat(fullPath)?.Inode ?? 0, OperatingSystem.IsWindows() ? 0 : (int)info.UnixFileMode);
    }

    private readonly record struct UnixStat(long Inode, bool IsRegular);

    // .NET does not expose the inode or the file type (FIFO/socket/device look like files), so lstat(2) is called
    // directly on 64-bit Linux (glibc >= 2.33 exports lstat). Elsewhere: inode 0, and every non-link file is regular.
    private static UnixStat? Stat(string path)
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || statUnavailable)
        {
            return null;
        }

        Span<byte> buffer = stackalloc byte[256];
        try
        {
            if (lstat(path, ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                return null;
            }
        }
        catch (EntryPointNotFoundException)
        {
            statUnavailable = true;
            return null;
        }

        var inode = BitConverter.ToInt64(buffer[8..]);
        // x86_64: st_dev, st_ino, st_nlink (8 bytes each), st_mode; the generic layout (arm64): st_dev, st_ino, st_mode.
        var modeOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        var mode = BitConverter.ToUInt32(buffer[modeOffset..]);
        const uint S_IFMT = 0xF000, S_IFREG = 0x8000;
        return new UnixStat(inode, (mode & S_IFMT) == S_IFREG);
    }

    private static bool statUnavailable;

    [DllImport("libc", SetLastError = true)]
    private static extern int lstat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref byte buffer);
}
