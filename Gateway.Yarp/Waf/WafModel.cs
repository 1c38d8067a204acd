namespace Gateway.Yarp.Waf;

/// <summary>Rule families, named after the OWASP Core Rule Set files they are modelled on.</summary>
public enum WafFamily
{
    /// <summary>911xxx/920xxx: methods, Host, framing headers, limits, control bytes, protocol version.</summary>
    ProtocolEnforcement,

    /// <summary>920440: restricted file extensions in the URL path.</summary>
    RestrictedFile,

    /// <summary>930xxx: path traversal and local file inclusion.</summary>
    PathTraversal,

    /// <summary>941xxx: cross-site scripting.</summary>
    Xss,

    /// <summary>942xxx: SQL injection.</summary>
    Sqli,
}

/// <summary>CRS severities; the value is the anomaly score a match adds.</summary>
public enum WafSeverity
{
    Notice = 2,
    Warning = 3,
    Error = 4,
    Critical = 5,
}

/// <summary>One rule of the catalogue. <see cref="Id"/> is stable: dashboards, alerts and <c>DisabledRuleIds</c> name it.</summary>
public sealed record WafRule(int Id, WafFamily Family, WafSeverity Severity, string Description)
{
    public int Score => (int)Severity;

    /// <summary>The id as a metric tag value, computed once.</summary>
    public string IdText { get; } = Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The family as a metric tag value, computed once.</summary>
    public string FamilyText { get; } = Family switch
    {
        WafFamily.ProtocolEnforcement => "protocol",
        WafFamily.RestrictedFile => "restricted-file",
        WafFamily.PathTraversal => "path-traversal",
        WafFamily.Xss => "xss",
        WafFamily.Sqli => "sqli",
        _ => Family.ToString(),
    };
}

/// <summary>One header line as received; a name may repeat.</summary>
public readonly record struct WafHeader(string Name, string Value);

/// <summary>
/// Everything the engine looks at, taken before routing and without the body: method, the raw (still percent-encoded)
/// path and query string as the client sent them, every header line, and the protocol ("HTTP/1.1", "HTTP/2", ...).
/// </summary>
public sealed record WafRequest(string Method, string RawPath, string RawQuery, IReadOnlyList<WafHeader> Headers, string Protocol);

/// <summary>
/// A rule that matched, and where (a CRS-style target name such as <c>ARGS:name</c> or <c>REQUEST_HEADERS:User-Agent</c>).
/// The matched value is deliberately not kept: nothing downstream can echo or log it by mistake.
/// </summary>
public sealed record WafMatch(WafRule Rule, string Target, bool TimedOut = false);

/// <summary>The verdict on one request.</summary>
public sealed record WafResult(IReadOnlyList<WafMatch> Matches, int Score, int Threshold, bool DetectOnly)
{
    public static readonly WafResult None = new([], 0, int.MaxValue, false);

    /// <summary>The anomaly score reached the inbound threshold.</summary>
    public bool ThresholdReached => Score >= Threshold;

    /// <summary>The request must be refused: threshold reached and not in detect-only mode.</summary>
    public bool Blocked => ThresholdReached && !DetectOnly;

    /// <summary>Distinct matched rule ids, ascending.</summary>
    public IReadOnlyList<int> RuleIds { get; } = Matches.Select(m => m.Rule.Id).Distinct().Order().ToArray();
}
