using Gateway.Yarp.Waf;
using static HeadyClouds.UnitTests.Waf.WafTest;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>920440: restricted extensions and dot-files, in URL path segments only.</summary>
public sealed class RestrictedFileRuleTests
{
    [Theory]
    [InlineData("/.env")]
    [InlineData("/api/.env")]
    [InlineData("/.ENV")]
    [InlineData("/.env.local")]
    [InlineData("/.env.production")]
    [InlineData("/.env.")]
    [InlineData("/.env%20")]
    [InlineData("/.git/config")]
    [InlineData("/.git/HEAD")]
    [InlineData("/.git;x/config")]
    [InlineData("/%2egit/config")]
    [InlineData("/.svn/entries")]
    [InlineData("/.htaccess")]
    [InlineData("/.htpasswd")]
    [InlineData("/.DS_Store")]
    [InlineData("/backup.bak")]
    [InlineData("/index.php.bak")]
    [InlineData("/db/dump.sql")]
    [InlineData("/php.ini")]
    [InlineData("/web.config")]
    [InlineData("/web.config::$DATA")]
    [InlineData("/WEB.CONFIG")]
    [InlineData("/appsettings.Production.config")]
    [InlineData("/certs/server.pem")]
    [InlineData("/private.key")]
    [InlineData("/api/v1/workspaces/0193f5b6-7c2d-7a1e-9b3f-2c4d5e6f7a8b/export.sql")]
    [InlineData("/api/v1/..%5c.env")]
    public void RestrictedPathIsBlocked(string path) => AssertBlockedBy(Evaluate(Request(path: path)), 920440);

    // The same names are ordinary synced files when they travel as data: in query arguments (and JSON bodies, which are
    // never inspected). Tuning: 920440 looks at URL path segments only.
    [Theory]
    [InlineData(".env")]
    [InlineData(".env.local")]
    [InlineData(".gitignore")]
    [InlineData(".git/config")]
    [InlineData("project/.git/HEAD")]
    [InlineData(".htaccess")]
    [InlineData("backup.bak")]
    [InlineData("schema.sql")]
    [InlineData("desktop.ini")]
    [InlineData("App.config")]
    [InlineData("id_rsa.pem")]
    [InlineData("server.key")]
    [InlineData("notes.log")]
    public void RestrictedNamesPassAsQueryArguments(string fileName)
    {
        AssertClean(Evaluate(NameArgument(fileName)));
        AssertClean(Evaluate(RawQuery("path=" + Uri.EscapeDataString("Documents/" + fileName))));
    }

    [Theory]
    [InlineData(WorkspaceFiles)]
    [InlineData("/api/v1/workspaces/0193f5b6-7c2d-7a1e-9b3f-2c4d5e6f7a8b")]
    [InlineData("/api/v1/users/me")]
    [InlineData("/api/v1/tokens/")]
    [InlineData("/api/v1/repositories/0193f5b6-7c2d-7a1e-9b3f-2c4d5e6f7a8b")]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/")]
    [InlineData("/.well-known/security.txt")]
    [InlineData("/api/v1.2/status")]
    [InlineData("/files/report.pdf")]
    [InlineData("/files/archive.tar.gz")]
    [InlineData("/envelope")]
    [InlineData("/keys/public")]
    public void OrdinaryPathsPass(string path) => AssertClean(Evaluate(Request(path: path)));

    [Fact]
    public void TheExtensionListIsConfigurable()
    {
        var engine = new WafEngine(new WafOptions { RestrictedExtensions = ["foo", ".BAR"] });

        Assert.Contains(920440, engine.Evaluate(Request(path: "/x/y.foo")).RuleIds);
        Assert.Contains(920440, engine.Evaluate(Request(path: "/x/y.bar")).RuleIds);
        Assert.DoesNotContain(920440, engine.Evaluate(Request(path: "/.env")).RuleIds);
    }
}
