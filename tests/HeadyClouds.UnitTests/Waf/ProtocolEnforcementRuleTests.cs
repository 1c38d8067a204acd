using Gateway.Yarp.Waf;
using static HeadyClouds.UnitTests.Waf.WafTest;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>911xxx/920xxx: methods, protocol version, Host, framing headers, limits, control bytes.</summary>
public sealed class ProtocolEnforcementRuleTests
{
    private static readonly WafHeader Json = new("Content-Type", "application/json");

    private static WafHeader[] Headers(params WafHeader[] extra) => [.. DefaultHeaders, .. extra];

    private static WafHeader[] WithoutHost(params WafHeader[] extra) => [.. DefaultHeaders.Where(h => h.Name != "Host"), .. extra];

    private static string Args(int count) => string.Join('&', Enumerable.Range(0, count).Select(i => $"id={i}"));

    private static readonly Dictionary<string, (WafRequest Request, int RuleId, bool Blocks)> Attacks = new()
    {
        ["TRACE method"] = (Request("TRACE"), 911100, true),
        ["TRACK method"] = (Request("TRACK"), 911100, true),
        ["CONNECT method"] = (Request("CONNECT", path: "/"), 911100, true),
        ["DEBUG method"] = (Request("DEBUG"), 911100, true),
        ["lower-case trace"] = (Request("trace"), 911100, true),
        ["HTTP/0.9"] = (Request(protocol: "HTTP/0.9"), 920430, true),
        ["HTTP/1.2"] = (Request(protocol: "HTTP/1.2"), 920430, true),
        ["empty protocol"] = (Request(protocol: ""), 920430, true),
        ["no Host on HTTP/1.1 (scored like CRS: warning)"] = (Request(headers: WithoutHost()), 920280, false),
        ["empty Host"] = (Request(headers: WithoutHost(new WafHeader("Host", ""))), 920280, false),
        ["blank Host"] = (Request(headers: WithoutHost(new WafHeader("Host", "   "))), 920280, false),
        ["two Host headers"] = (Request(headers: Headers(new WafHeader("Host", "evil.example"))), 920901, true),
        ["Host with a list"] = (Request(headers: WithoutHost(new WafHeader("Host", "api.headyclouds.example, evil.example"))), 920901, true),
        ["Content-Length and Transfer-Encoding"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "4"), new WafHeader("Transfer-Encoding", "chunked"))), 920181, true),
        ["Content-Length not a number"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "abc"))), 920160, true),
        ["Content-Length negative"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "-1"))), 920160, true),
        ["Content-Length with a sign"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "+10"))), 920160, true),
        ["Content-Length as a list"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "5, 5"))), 920160, true),
        ["Content-Length in hex"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "0x10"))), 920160, true),
        ["Content-Length overflowing"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "99999999999999999999999"))), 920160, true),
        ["Content-Length empty"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", ""))), 920160, true),
        ["two different Content-Lengths"] = (Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "4"), new WafHeader("Content-Length", "40"))), 920160, true),
        ["65 headers"] = (Request(headers: Headers([.. Enumerable.Range(0, 60).Select(i => new WafHeader($"X-Pad-{i}", "x"))])), 920902, true),
        ["header name of 257 characters"] = (Request(headers: Headers(new WafHeader(new string('X', 257), "1"))), 920903, true),
        ["header value of 8193 characters"] = (Request(headers: Headers(new WafHeader("X-Big", new string('a', 8193)))), 920904, true),
        ["long Authorization (limits apply to allow-listed headers too)"] = (Request(headers: [.. WithoutHost(), new WafHeader("Host", "h"), new WafHeader("Authorization", "Bearer " + new string('t', 9000))]), 920904, true),
        ["129 query arguments"] = (RawQuery(Args(129)), 920380, true),
        ["argument name of 101 characters"] = (RawQuery(new string('n', 101) + "=1"), 920360, true),
        ["argument value of 4097 characters"] = (RawQuery("name=" + new string('v', 4097)), 920370, true),
        ["argument value of 4097 characters once decoded is measured decoded"] = (RawQuery("name=" + string.Concat(Enumerable.Repeat("%E6%97%A5", 4097))), 920370, true),
        ["query string over 8192 characters"] = (RawQuery("a=" + new string('q', 4000) + "&b=" + new string('q', 4000) + "&c=" + new string('q', 187)), 920390, true),
        ["raw NUL in the path"] = (Request(path: "/api/v1/users/me\0.json"), 920270, true),
        ["raw CR LF in the query"] = (RawQuery("name=a\r\nSet-Cookie: x=1"), 920270, true),
        ["raw DEL in the path"] = (Request(path: "/api/v1/users/\u007f"), 920270, true),
        ["encoded CR LF in the query (header injection)"] = (RawQuery("name=report%0d%0aSet-Cookie:%20x=1"), 920271, true),
        ["encoded LF in the path"] = (Request(path: "/api/v1/users/me%0a"), 920271, true),
        ["encoded ESC in a value"] = (RawQuery("name=%1b%5b2J"), 920271, true),
        ["encoded DEL in a value"] = (RawQuery("name=a%7fb"), 920271, true),
        ["double-encoded CR"] = (RawQuery("name=a%250db"), 920271, true),
        ["encoded control character in an argument name"] = (RawQuery("na%0ame=1"), 920271, true),
    };

    public static TheoryData<string> AttackCases => new(Attacks.Keys);

    [Theory]
    [MemberData(nameof(AttackCases))]
    public void AttackIsDetected(string name)
    {
        var (request, ruleId, blocks) = Attacks[name];
        var result = Evaluate(request);
        if (blocks)
        {
            AssertBlockedBy(result, ruleId);
        }
        else
        {
            AssertScoredNotBlocked(result, ruleId);
        }
    }

    private static readonly Dictionary<string, WafRequest> Legitimate = new()
    {
        ["GET with a browser's headers"] = Request(),
        ["HEAD"] = Request("HEAD"),
        ["OPTIONS preflight"] = Request("OPTIONS", headers: Headers(new WafHeader("Origin", "https://app.headyclouds.example"), new WafHeader("Access-Control-Request-Method", "POST"))),
        ["POST JSON"] = Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "42"))),
        ["POST empty body"] = Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "0"))),
        ["POST chunked"] = Request("POST", headers: Headers(Json, new WafHeader("Transfer-Encoding", "chunked"))),
        ["DELETE"] = Request("DELETE", path: "/api/v1/tokens/0193f5b6-7c2d-7a1e-9b3f-2c4d5e6f7a8b"),
        ["the same Content-Length twice"] = Request("POST", headers: Headers(Json, new WafHeader("Content-Length", "42"), new WafHeader("Content-Length", "42"))),
        ["HTTP/2"] = Request(protocol: "HTTP/2"),
        ["HTTP/3"] = Request(protocol: "HTTP/3"),
        ["HTTP/1.0 health probe without Host"] = Request(path: "/health", headers: [], protocol: "HTTP/1.0"),
        ["Host with a port"] = Request(headers: [.. WithoutHost(), new WafHeader("Host", "localhost:5080")]),
        ["exactly 64 headers"] = Request(headers: Headers([.. Enumerable.Range(0, 59).Select(i => new WafHeader($"X-Pad-{i}", "x"))])),
        ["HTTP/2 cookie crumbs count as one header"] = Request(protocol: "HTTP/2", headers: Headers([.. Enumerable.Range(0, 80).Select(i => new WafHeader("cookie", $"c{i}=v{i}"))])),
        ["exactly 128 arguments"] = RawQuery(Args(128)),
        ["a path of exactly 4096 decoded characters"] = RawQuery("path=" + string.Join("%2F", Enumerable.Repeat(new string('d', 255), 16)) + "e"),
        ["TAB inside a file name"] = NameArgument("tab\there.txt"),
        ["repeated and empty arguments"] = RawQuery("id=1&id=2&&id=3&flag&empty="),
        ["a query string that is only '?'"] = RawQuery("?"),
    };

    public static TheoryData<string> LegitimateCases => new(Legitimate.Keys);

    [Theory]
    [MemberData(nameof(LegitimateCases))]
    public void LegitimateRequestPasses(string name) => AssertClean(Evaluate(Legitimate[name]));
}
