using MAB.DotIgnore;

namespace Heady.Cli.Sync;

/// <summary>
/// <c>.headyignore</c> at the folder root, gitignore syntax (MAB.DotIgnore). <c>.heady/</c> is always ignored.
/// Ignored paths are neither uploaded nor downloaded, and a file that becomes ignored is not deleted remotely.
/// </summary>
public sealed class IgnoreRules
{
    public const string FileName = ".headyignore";

    private readonly IgnoreList list;

    public IgnoreRules(IEnumerable<string> rules)
    {
        list = new IgnoreList(rules.Where(r => !string.IsNullOrWhiteSpace(r) && !r.TrimStart().StartsWith('#')));
    }

    public static IgnoreRules Load(string root)
    {
        var file = Path.Combine(root, FileName);
        return new IgnoreRules(File.Exists(file) ? File.ReadAllLines(file) : []);
    }

    public bool IsIgnored(string workspacePath, bool isDirectory)
    {
        if (workspacePath == LocalPaths.StateFolder || workspacePath.StartsWith(LocalPaths.StateFolder + "/", StringComparison.Ordinal))
        {
            return true;
        }

        // A file inside an ignored folder is ignored too (git does not descend into it; the scanner does not either,
        // but paths from the server arrive whole).
        var segments = workspacePath.Split('/');
        for (var i = 1; i < segments.Length; i++)
        {
            if (list.IsIgnored(string.Join('/', segments[..i]), true))
            {
                return true;
            }
        }

        return list.IsIgnored(workspacePath, isDirectory);
    }
}
