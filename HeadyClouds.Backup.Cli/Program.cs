using HeadyClouds.Backup;
using HeadyClouds.Backup.Format;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// heady-backup <command> [options]; configuration from environment variables (Backup__Bucket, ConnectionStrings__objectstore,
// Backup__Encryption__Keys__backup-1, ...) and --config <file.json>. Exit codes: 0 done, 1 usage, 2 refused
// (tampered/truncated/wrong key, destination not empty), 3 other failure. See docs/backup.md.
const string Usage = """
    usage: heady-backup <command> [--config <file.json>]
      backup                                   back up everything configured, then apply retention
      list [--from bucket|directory]           backups, newest first (complete or incomplete)
      restore <id> --verify-only [--from ...]  read and authenticate every segment, check every hash; write nothing
      restore <id> [--from bucket|directory]   verify, check the destinations are empty, then restore
      prune [--dry-run]                        apply retention (7 daily, 4 weekly, 12 monthly by default)
    """;

var positional = new List<string>();
string? configFile = null, from = null;
bool verifyOnly = false, dryRun = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--config" when i + 1 < args.Length: configFile = args[++i]; break;
        case "--from" when i + 1 < args.Length: from = args[++i]; break;
        case "--verify-only": verifyOnly = true; break;
        case "--dry-run": dryRun = true; break;
        case "-h" or "--help": Console.WriteLine(Usage); return 0;
        case var a when a.StartsWith("--", StringComparison.Ordinal): Console.Error.WriteLine($"unknown option {a}\n{Usage}"); return 1;
        default: positional.Add(args[i]); break;
    }
}

if (positional.Count == 0 || (positional[0] == "restore" ? positional.Count != 2 : positional.Count != 1)
    || positional[0] is not ("backup" or "list" or "restore" or "prune"))
{
    Console.Error.WriteLine(Usage);
    return 1;
}

var builder = new ConfigurationBuilder();
if (configFile is not null)
{
    builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
}

var configuration = builder.AddEnvironmentVariables().Build();
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var ct = cancel.Token;

try
{
    await using var services = new ServiceCollection().AddHeadyBackup(configuration).BuildServiceProvider();
    var backup = services.GetRequiredService<BackupService>();
    switch (positional[0])
    {
        case "backup":
            var summary = await backup.RunAsync(ct);
            Console.WriteLine(summary);
            break;
        case "list":
            foreach (var item in (await backup.ListAsync(backup.Target(from), ct)).OrderByDescending(b => b.Id, StringComparer.Ordinal))
            {
                Console.WriteLine($"{item.Id}  {item.CreatedAt:u}  {(item.Complete ? "complete" : "INCOMPLETE")}");
            }

            break;
        case "restore":
            var result = await backup.RestoreAsync(positional[1], verifyOnly, from, ct);
            foreach (var part in result.Manifest.Parts)
            {
                Console.WriteLine($"{(verifyOnly ? "verified" : "restored")} {part.Name}: {part.Size} bytes, sha256 {part.Sha256}");
            }

            Console.WriteLine(verifyOnly
                ? $"backup {result.Manifest.BackupId} verified: {result.Manifest.Parts.Count} parts; nothing was written"
                : $"backup {result.Manifest.BackupId} restored: {result.Restored.Count} parts");
            break;
        case "prune":
            var decision = await backup.PruneAsync(dryRun, ct);
            foreach (var kept in decision.Keep)
            {
                Console.WriteLine($"keep   {kept.Id}  ({decision.Reasons[kept.Id]})");
            }

            foreach (var deleted in decision.Delete)
            {
                Console.WriteLine($"{(dryRun ? "would delete" : "deleted")} {deleted.Id}");
            }

            break;
    }

    return 0;
}
catch (Exception e) when (e is BackupIntegrityException or RestoreRefusedException)
{
    Console.Error.WriteLine($"refused: {e.Message}");
    return 2;
}
catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
{
    Console.Error.WriteLine($"failed: {e.Message}");
    return 3;
}
