using System.Text;
using Monorepo.Sync.Git;
using static HeadyClouds.IntegrationTests.Monorepo.Split.FileOp;

namespace HeadyClouds.IntegrationTests.Monorepo.Split;

/// <summary>Authors, committers, dates and messages must be copied exactly as git subtree copies them.</summary>
public sealed class SubtreeSplitMetadataTests : IDisposable
{
    private const string Prefix = "packages/ui";
    private readonly SplitTestRepository repo = new();
    private int file;

    public void Dispose() => repo.Dispose();

    private int Ui(byte[] message, byte[]? author = null, byte[]? committer = null, string? encoding = null) =>
        repo.Commit(new CommitSpec
        {
            Message = message,
            Author = author,
            Committer = committer,
            Encoding = encoding,
            Ops = [Put($"packages/ui/f{++file}.txt", $"{file}\n")],
        });

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Non_ascii_authors_and_messages()
    {
        Ui(Bytes("Größere Änderung: 日本語のメッセージ 🎉\n\nКириллица и ελληνικά.\n"),
            SplitTestRepository.Ident("Jürgen Groß <jürgen@example.de>", 1_700_000_000, "+0100"),
            SplitTestRepository.Ident("山田 太郎 <taro@example.jp>", 1_700_000_100, "+0900"));
        Ui(Bytes("ä\n"), SplitTestRepository.Ident("Zoë Ñúñez <zoe@example.es>", 1_700_000_200));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Messages_with_trailing_newlines_without_newline_empty_and_odd_shapes()
    {
        Ui(Bytes("no newline at end"));
        Ui(Bytes("trailing newlines\n\n\n\n"));
        Ui(Bytes(""));
        Ui(Bytes("\n\nleading blank lines\n"));
        Ui(Bytes("CRLF line\r\n\r\nbody\r\n"));
        Ui(Bytes("subject\n\nbody with \\ backslashes \\n and a trailing backslash \\\n"));
        Ui(Bytes("   indented subject   \n\n\tbody with tab\n"));
        Ui(Bytes("Signed-off-by: trailer only\n"));
        Ui(Bytes("# comment-like line\nSTART END\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Author_and_committer_dates_and_time_zones_differ()
    {
        Ui(Bytes("india\n"), SplitTestRepository.Ident("A <a@x>", 1_600_000_000, "+0530"), SplitTestRepository.Ident("C <c@x>", 1_700_000_000, "-0800"));
        Ui(Bytes("nepal\n"), SplitTestRepository.Ident("A <a@x>", 1_600_000_001, "+0545"), SplitTestRepository.Ident("C <c@x>", 1_600_000_000, "+1400"));
        Ui(Bytes("baker\n"), SplitTestRepository.Ident("A <a@x>", 1_000_000_000, "-1200"), SplitTestRepository.Ident("C <c@x>", 2_000_000_000, "+0000"));
        Ui(Bytes("newfoundland\n"), SplitTestRepository.Ident("A <a@x>", 1_234_567_890, "-0330"), SplitTestRepository.Ident("C <c@x>", 1_234_567_890, "-0000"));
        Ui(Bytes("1970s and leap day\n"), SplitTestRepository.Ident("A <a@x>", 100_000, "+0100"), SplitTestRepository.Ident("C <c@x>", 951_782_400, "+0000"));
        repo.Import();
        var result = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
        Assert.Equal(0, result.Counts.CommitsCreatedWithCommitTree);
    }

    [Fact]
    public async Task Dates_git_does_not_round_trip_go_through_commit_tree()
    {
        // Epoch-adjacent, and time zones git's parser refuses (hour >= 24, minutes >= 60): only commit-tree knows.
        Ui(Bytes("epoch\n"), SplitTestRepository.Ident("A <a@x>", 0, "+0000"));
        Ui(Bytes("bad minutes\n"), SplitTestRepository.Ident("A <a@x>", 1_500_000_000, "+0175"));
        Ui(Bytes("bad hours\n"), null, SplitTestRepository.Ident("C <c@x>", 1_500_000_000, "-2500"));
        Ui(Bytes("normal\n"));
        repo.Import();
        var result = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
        Assert.Equal(3, result.Counts.CommitsCreatedWithCommitTree);
    }

    [Fact]
    public async Task Names_and_emails_that_the_shell_and_git_rewrite()
    {
        // read (no -r) eats backslashes and outer blanks; git drops "crud" at the ends and '<', '>' inside.
        Ui(Bytes("trailing dot\n"), SplitTestRepository.Ident("John Smith Jr. <john@x>", 1_700_000_000));
        Ui(Bytes("quotes\n"), SplitTestRepository.Ident("\"Quoted, Name\" <'q'@x>", 1_700_000_000));
        Ui(Bytes("backslashes\n"), SplitTestRepository.Ident("Back\\slash \\\\Name\\ x <back\\slash@x>", 1_700_000_000));
        Ui(Bytes("escaped blank at the end\n"), SplitTestRepository.Ident("Escaped \\ Name <esc@x\\ >", 1_700_000_000));
        Ui(Bytes("outer blanks\n"), SplitTestRepository.Ident("  \t Lead Space <  spaced@x  >", 1_700_000_000));
        Ui(Bytes("empty email\n"), SplitTestRepository.Ident("No Mail <>", 1_700_000_000));
        Ui(Bytes("crud only in email\n"), SplitTestRepository.Ident("Crud <.;:>", 1_700_000_000));
        Ui(Bytes("backslash in the committer\n"), null, SplitTestRepository.Ident("Comm\\itter <c\\@x>", 1_700_000_100));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Name_ending_in_a_backslash_fails_as_git_subtree_fails()
    {
        // The shell's read joins the next line to it: every value shifts and commit-tree refuses the "date".
        Ui(Bytes("line continuation\n"), SplitTestRepository.Ident("Ends In Backslash\\ <cont@x>", 1_700_000_000));
        repo.Import();
        Assert.False((await repo.RunGitSubtreeAsync(Prefix, "main")).Succeeded);
        await Assert.ThrowsAsync<GitCommandException>(
            () => SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", null, CancellationToken.None));
    }

    [Fact]
    public async Task Legacy_encoding_header_is_converted_as_git_log_converts_it()
    {
        var latin1 = Encoding.Latin1;
        Ui(latin1.GetBytes("Latin-1 message: Größe, café\n"),
            [.. latin1.GetBytes("Jürgen Müller <jm@example.de>"), .. " 1700000000 +0100"u8],
            encoding: "ISO-8859-1");
        Ui(Bytes("utf-8 after\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Invalid_utf8_without_encoding_header_is_repaired_as_commit_tree_repairs_it()
    {
        Ui([.. "caf"u8, 0xE9, .. " latin-1 bytes, a lone continuation "u8, 0x80, .. " a cut sequence "u8, 0xE2, 0x82, .. " and U+FFFE "u8, 0xEF, 0xBF, 0xBE, (byte)'\n'],
            [.. "Andr"u8, 0xE9, .. " Bytes <andr"u8, 0xE9, .. "@x> 1700000000 +0000"u8]);
        Ui(Bytes("next\n"), [.. "Tail Lead "u8, 0xC3, .. " <t@x> 1700000001 +0000"u8]);
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }
}
