using static HeadyClouds.UnitTests.Waf.WafTest;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>930xxx: path traversal and local file inclusion, in the path, query arguments and inspected headers.</summary>
public sealed class PathTraversalRuleTests
{
    // Raw query strings: the encoding is the point of most of these.
    [Theory]
    [InlineData("path=../../../../etc/passwd", 930110)]
    [InlineData("path=..%2f..%2f..%2fsecret.txt", 930110)]
    [InlineData("path=..%2f..%2fsecret.txt", 930100)]
    [InlineData("path=..%5c..%5cwindows%5cwin.ini", 930100)]
    [InlineData("path=..%5c..%5cwindows%5cwin.ini", 930110)]
    [InlineData("path=%2e%2e%2f%2e%2e%2fetc%2fpasswd", 930100)]
    [InlineData("path=%2E%2E/secret", 930100)]
    [InlineData("path=.%2e/secret", 930100)]
    [InlineData("path=%2e./secret", 930100)]
    [InlineData("path=%252e%252e%252fsecret", 930100)]
    [InlineData("path=%252e%252e%252fsecret", 930110)]
    [InlineData("path=%25252e%25252e%25252fsecret", 930110)]
    [InlineData("path=%c0%ae%c0%ae/secret", 930100)]
    [InlineData("path=..%c0%afsecret", 930100)]
    [InlineData("path=..%c1%9csecret", 930100)]
    [InlineData("path=%e0%80%ae%e0%80%ae/secret", 930100)]
    [InlineData("path=%f0%80%80%ae%f0%80%80%ae/secret", 930100)]
    [InlineData("path=%uff0e%uff0e%u2215secret", 930100)]
    [InlineData("path=%u002e%u002e/secret", 930100)]
    [InlineData("path=%EF%BC%8E%EF%BC%8E%EF%BC%8Fsecret", 930110)]
    [InlineData("path=....//....//etc/passwd", 930110)]
    [InlineData("path=..", 930110)]
    [InlineData("path=docs/..", 930110)]
    [InlineData("path=..;/admin", 930110)]
    [InlineData("path=..././..././etc/passwd", 930110)]
    [InlineData("path=%%32%65%%32%65/secret", 930110)]
    [InlineData("file=/etc/passwd", 930120)]
    [InlineData("file=%2Fetc%2Fshadow", 930120)]
    [InlineData("file=/proc/self/environ", 930120)]
    [InlineData("file=/proc/1/cmdline", 930120)]
    [InlineData("file=c%3a%5cboot.ini", 930120)]
    [InlineData("file=C:/Windows/win.ini", 930120)]
    [InlineData("file=c:\\windows\\system32\\drivers\\etc\\hosts", 930120)]
    [InlineData("file=file:///etc/passwd", 930120)]
    [InlineData("file=file:///c:/windows/win.ini", 930120)]
    [InlineData("file=%5C%5C%3F%5CC%3A%5CWindows%5Cwin.ini", 930120)]
    [InlineData("file=/var/www/html/../../../etc/passwd", 930120)]
    [InlineData("file=/home/alice/.ssh/id_rsa", 930120)]
    [InlineData("file=/root/.aws/credentials", 930120)]
    [InlineData("file=report.pdf%00.jpg", 930150)]
    [InlineData("file=report.pdf%2500.jpg", 930150)]
    [InlineData("fi%00le=x", 930150)]
    public void QueryAttackIsBlocked(string rawQuery, int ruleId) => AssertBlockedBy(Evaluate(RawQuery(rawQuery)), ruleId);

    [Theory]
    [InlineData("/api/v1/workspaces/../../etc/passwd", 930110)]
    [InlineData("/api/v1/workspaces/../../etc/passwd", 930120)]
    [InlineData("/api/v1/workspaces/..%2f..%2fadmin", 930100)]
    [InlineData("/api/v1/workspaces/%2e%2e/%2e%2e/admin", 930100)]
    [InlineData("/api/v1/..;/internal/users", 930110)]
    [InlineData("/static/..\\..\\windows\\win.ini", 930110)]
    [InlineData("/api/v1/users/me%00.json", 930150)]
    [InlineData("/proc/self/environ", 930120)]
    public void PathAttackIsBlocked(string path, int ruleId) => AssertBlockedBy(Evaluate(Request(path: path)), ruleId);

    [Theory]
    [InlineData("User-Agent", "../../../../etc/passwd", 930110)]
    [InlineData("Referer", "https://app.example/?f=..%2f..%2fetc%2fpasswd", 930100)]
    [InlineData("X-File", "/etc/passwd", 930120)]
    [InlineData("Cookie", "last=..%2f..%2fetc%2fpasswd", 930110)]
    public void HeaderAttackIsBlocked(string header, string value, int ruleId) => AssertBlockedBy(Evaluate(WithHeader(header, value)), ruleId);

    // Tuning decisions, each pinned here: dots inside names are not traversal; bare OS file names ("boot.ini") and
    // relative trees that merely contain "etc/passwd" (a synced rootfs backup) are ordinary files; only an encoded
    // *dot next to a dot* is flagged, never a lone percent sign.
    [Theory]
    [InlineData("notes..txt")]
    [InlineData("wait... what.txt")]
    [InlineData("a..b/c")]
    [InlineData("Ideas../draft.txt")]
    [InlineData("wait..\\file.txt")]
    [InlineData("folder/..x/file.txt")]
    [InlineData("..hidden")]
    [InlineData("./relative/file.txt")]
    [InlineData(".hidden/file")]
    [InlineData("boot.ini")]
    [InlineData("win.ini")]
    [InlineData("passwd")]
    [InlineData("rootfs/etc/passwd")]
    [InlineData("backups/server-01/etc/hosts")]
    [InlineData("/Users/alice/Documents/report.pdf")]
    [InlineData("C:\\Users\\alice\\notes.txt")]
    [InlineData("100% done.txt")]
    [InlineData("50%2e off.txt")]
    [InlineData("100%use.txt")]
    [InlineData("environ")]
    [InlineData("proc notes/self review.docx")]
    public void LegitimateFileNamesPass(string fileName)
    {
        AssertClean(Evaluate(NameArgument(fileName)));
        AssertClean(Evaluate(RawQuery("path=" + Uri.EscapeDataString(fileName))));
    }
}
