using System.Diagnostics;
using Heady.Cli.Sync;

namespace Heady.Cli.Tests.Local;

public class ScannerAndStateTests
{
    [Fact]
    public void Scanner_lists_regular_files_and_skips_links_special_files_state_and_ignored()
    {
        using var root = new TempFolder();
        using var outside = new TempFolder();
        root.File("a.txt", "a");
        root.File("sub/b.txt", "bb");
        root.File("x.tmp", "ignored");
        root.File(".headyignore", "*.tmp\n");
        root.File(".heady/state.db", "not synced");
        File.CreateSymbolicLink(Path.Combine(root.Path, "link.txt"), outside.File("secret.txt", "secret"));
        Directory.CreateSymbolicLink(Path.Combine(root.Path, "linkdir"), outside.Path);
        using (var mkfifo = Process.Start("mkfifo", Path.Combine(root.Path, "pipe")))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var result = Scanner.Scan(root.Path, IgnoreRules.Load(root.Path));

        Assert.Equal([".headyignore", "a.txt", "sub/b.txt"], result.Files.Select(f => f.Path));
        Assert.Equal(["link.txt", "linkdir", "pipe"], result.Skipped.Select(s => s.Path).Order());
        Assert.Contains("symbolic link", result.Skipped.Single(s => s.Path == "linkdir").Reason);
        Assert.Contains("special file", result.Skipped.Single(s => s.Path == "pipe").Reason);
        var b = result.Files.Single(f => f.Path == "sub/b.txt");
        Assert.Equal(2, b.Size);
        Assert.NotEqual(0, b.Inode);
        Assert.NotEqual(result.Files[1].Inode, b.Inode);
    }

    [Fact]
    public void State_round_trips_files_and_meta()
    {
        using var root = new TempFolder();
        var version = Guid.NewGuid();
        var record = new FileRecord("docs/a b.txt", 12, 638_000_000_000_000_000, 42, new string('a', 64),
            [new LocalChunk(new string('b', 64), 5), new LocalChunk(new string('c', 64), 7)], version);
        using (var state = LocalState.Open(root.Path))
        {
            state.Upsert(record);
            state.Upsert(record with { Path = "empty", Size = 0, Chunks = [] });
            state.Cursor = "17";
            state.WorkspaceId = version;
        }

        using (var state = LocalState.Open(root.Path))
        {
            var loaded = state.Get("docs/a b.txt")!;
            Assert.Equal(record with { Chunks = [] }, loaded with { Chunks = [] });
            Assert.Equal(record.Chunks, loaded.Chunks);
            Assert.Empty(state.Get("empty")!.Chunks);
            Assert.Equal("17", state.Cursor);
            Assert.Equal(version, state.WorkspaceId);
            state.Delete("empty");
            Assert.Single(state.AllFiles());
        }
    }
}
