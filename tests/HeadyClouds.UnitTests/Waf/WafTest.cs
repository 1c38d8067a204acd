using Gateway.Yarp.Waf;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>Builders for engine-level tests: a browser-like request with the defaults a real client sends.</summary>
internal static class WafTest
{
    public const string WorkspaceFiles = "/api/v1/workspaces/0193f5b6-7c2d-7a1e-9b3f-2c4d5e6f7a8b/files";

    public const string ChromeUserAgent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    public static readonly WafEngine Engine = new(new WafOptions());

    public static WafHeader[] DefaultHeaders =>
    [
        new("Host", "api.headyclouds.example"),
        new("User-Agent", ChromeUserAgent),
        new("Accept", "application/json"),
        new("Authorization", "Bearer hc_AbC-_123xyz789QRSTuvw-_0123456789abcdefABCDEF"),
        new("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ];

    public static WafRequest Request(string method = "GET", string path = WorkspaceFiles, string query = "",
        IEnumerable<WafHeader>? headers = null, string protocol = "HTTP/1.1") =>
        new(method, path, query, (headers ?? DefaultHeaders).ToArray(), protocol);

    /// <summary>A GET with the raw query string as given (encodings are the test's business).</summary>
    public static WafRequest RawQuery(string rawQuery) => Request(query: rawQuery);

    /// <summary>A GET whose "name" argument carries <paramref name="value"/>, encoded as a client would.</summary>
    public static WafRequest NameArgument(string value) => Request(query: "name=" + Uri.EscapeDataString(value) + "&limit=50");

    /// <summary>A GET with one more header (the defaults, then this one; a default of the same name is replaced).</summary>
    public static WafRequest WithHeader(string name, string value) =>
        Request(headers: DefaultHeaders.Where(h => !string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Append(new WafHeader(name, value)));

    public static WafResult Evaluate(WafRequest request) => Engine.Evaluate(request);

    /// <summary>Attack assertion: the rule matched and, at the default threshold, the request is blocked.</summary>
    public static void AssertBlockedBy(WafResult result, int ruleId)
    {
        Assert.True(result.RuleIds.Contains(ruleId), $"expected rule {ruleId}, matched [{string.Join(", ", result.RuleIds)}]");
        Assert.True(result.Blocked, $"expected a block, score {result.Score} with [{string.Join(", ", result.RuleIds)}]");
    }

    /// <summary>Scored (the rule matched) but, on its own, under the default threshold.</summary>
    public static void AssertScoredNotBlocked(WafResult result, int ruleId)
    {
        Assert.True(result.RuleIds.Contains(ruleId), $"expected rule {ruleId}, matched [{string.Join(", ", result.RuleIds)}]");
        Assert.False(result.Blocked, $"expected no block, score {result.Score} with [{string.Join(", ", result.RuleIds)}]");
    }

    /// <summary>Legitimate-request assertion: nothing matched at all.</summary>
    public static void AssertClean(WafResult result) =>
        Assert.True(result.Matches.Count == 0, $"expected no match, got [{string.Join(", ", result.Matches.Select(m => $"{m.Rule.Id}@{m.Target}"))}]");
}
