using System.Diagnostics;
using Npgsql;

namespace HeadyClouds.Backup.Tests;

/// <summary>
/// Point-in-time recovery with the configuration docs/backup.md gives for containers mode, on a private local
/// PostgreSQL 15: archive_mode=on with an archive_command into a directory; a base backup; writes; a named restore point;
/// a "disaster" (DROP TABLE); then a new server from the base backup replays the archived WAL with restore_command up
/// to the restore point and has the rows and not the disaster.
/// </summary>
public sealed class WalArchivingTests : IDisposable
{
    private const string Bin = Sources.Postgres.DefaultBin;

    private readonly string root = Path.Combine("/tmp", "h5-wal-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<string> running = [];

    private static bool IsRoot => Environment.UserName == "root";

    private string Archive => Path.Combine(root, "archive");

    /// <summary>PostgreSQL refuses to run as root: as root, its tools run as the "postgres" OS user.</summary>
    private static string Run(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(IsRoot ? "runuser" : Path.Combine(Bin, tool)) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (IsRoot)
        {
            foreach (var a in (string[])["-u", "postgres", "--", Path.Combine(Bin, tool)])
            {
                info.ArgumentList.Add(a);
            }
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed: {errors.Result}{output}");
    }

    private void Start(string data, int port, string extra)
    {
        Run("pg_ctl", "-D", data, "-l", Path.Combine(root, $"log-{port}.txt"), "-w", "-t", "120",
            "-o", $"-p {port} -k {root} -c listen_addresses='' {extra}", "start");
        running.Add(data);
    }

    private NpgsqlConnection Connect(int port)
    {
        var connection = new NpgsqlConnection($"Host={root};Port={port};Username=postgres;Database=postgres;Pooling=false");
        connection.Open();
        return connection;
    }

    private static object? Scalar(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }

    [Fact]
    public void ArchivedWalReplaysToARestorePointOnABaseBackup()
    {
        Directory.CreateDirectory(Archive);
        if (IsRoot)
        {
            Process.Start("chown", ["-R", "postgres:postgres", root])!.WaitForExit();
        }

        var data = Path.Combine(root, "data");
        var port = Random.Shared.Next(20000, 60000);
        Run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync");
        // The documented settings (docs/backup.md): never overwrite an archived segment; a full segment at least every minute.
        Start(data, port, $"-c wal_level=replica -c archive_mode=on -c archive_timeout=60 " +
            $"-c \"archive_command=test ! -f {Archive}/%f && cp %p {Archive}/%f\"");

        var @base = Path.Combine(root, "base");
        Run("pg_basebackup", "-h", root, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres", "-D", @base, "--checkpoint=fast", "--no-sync");

        string lastSegment;
        using (var connection = Connect(port))
        {
            Scalar(connection, "CREATE TABLE ledger (id int PRIMARY KEY, note text); INSERT INTO ledger SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
            Scalar(connection, "SELECT pg_create_restore_point('before-disaster')");
            Scalar(connection, "DROP TABLE ledger");
            lastSegment = (string)Scalar(connection, "SELECT pg_walfile_name(pg_switch_wal())")!;

            // Wait for the archiver to report the switched segment (an event, not a speed: the deadline only stops a hang).
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (string.CompareOrdinal(Scalar(connection, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") as string, lastSegment) < 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"WAL segment {lastSegment} was not archived; failed: {Scalar(connection, "SELECT failed_count FROM pg_stat_archiver")}");
                Thread.Sleep(200);
            }
        }

        Assert.True(File.Exists(Path.Combine(Archive, lastSegment)), $"{lastSegment} is not in the archive directory");
        Run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop");
        running.Remove(data);

        // Recovery on the base backup: restore_command reads the archive; stop at the restore point and promote.
        File.WriteAllText(Path.Combine(@base, "recovery.signal"), "");
        File.AppendAllText(Path.Combine(@base, "postgresql.auto.conf"),
            $"\nrestore_command = 'cp {Archive}/%f %p'\nrecovery_target_name = 'before-disaster'\nrecovery_target_action = 'promote'\n");
        var restoredPort = port + 1;
        Start(@base, restoredPort, "-c archive_mode=off");
        using (var restored = Connect(restoredPort))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while ((bool)Scalar(restored, "SELECT pg_is_in_recovery()")!)
            {
                Assert.True(DateTime.UtcNow < deadline, "recovery did not finish");
                Thread.Sleep(200);
            }

            Assert.Equal(1000L, Scalar(restored, "SELECT count(*) FROM ledger"));
            Assert.Equal("a87ff679a2f3e71d9181a67b7542122c", Scalar(restored, "SELECT note FROM ledger WHERE id = 4"));
        }
    }

    public void Dispose()
    {
        foreach (var data in running)
        {
            try
            {
                Run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop");
            }
            catch (InvalidOperationException)
            {
            }
        }

        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
