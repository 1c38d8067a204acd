namespace Gateway.Yarp.Waf;

/// <summary>
/// Configuration section <c>Waf</c>. List settings are <c>null</c> by default and then take the built-in defaults below:
/// the configuration binder appends to a pre-filled list, so a default list could never be replaced from configuration.
/// </summary>
public sealed class WafOptions
{
    public const string Section = "Waf";

    /// <summary>Off: the middleware passes every request through untouched.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Log and count matches but never block (for rolling out or tuning a rule change).</summary>
    public bool DetectOnly { get; set; }

    /// <summary>CRS inbound anomaly threshold: a request whose summed rule scores reach it is blocked. CRS default 5.</summary>
    public int InboundThreshold { get; set; } = 5;

    /// <summary>Header lines (a Cookie header split into HTTP/2 crumbs counts once). Kestrel's own cap is 100.</summary>
    public int MaxHeaders { get; set; } = 64;

    public int MaxHeaderNameLength { get; set; } = 256;

    /// <summary>Per header value. Kestrel caps all headers together at 32 KiB.</summary>
    public int MaxHeaderValueLength { get; set; } = 8192;

    /// <summary>CRS default 255; the API takes a handful, repeated ids in a batch call stay well under this.</summary>
    public int MaxArguments { get; set; } = 128;

    /// <summary>CRS default 100; argument names are ours (path, name, cursor, ...).</summary>
    public int MaxArgumentNameLength { get; set; } = 100;

    /// <summary>
    /// Decoded characters. CRS defaults to 400; a sync client may pass a whole file path, so PATH_MAX (4096) is the
    /// tuned default (a 255-byte CJK or emoji file name alone decodes to ~85-255 characters but encodes to ~765).
    /// </summary>
    public int MaxArgumentValueLength { get; set; } = 4096;

    /// <summary>Raw (encoded) query string length, without '?'. Equal to Kestrel's request-line limit by default.</summary>
    public int MaxQueryStringLength { get; set; } = 8192;

    /// <summary>Extensions (with the dot, case-insensitive) refused in URL path segments; null = <see cref="DefaultRestrictedExtensions"/>.</summary>
    public string[]? RestrictedExtensions { get; set; }

    /// <summary>
    /// Headers whose values are not inspected for XSS/SQLi/traversal signatures (limits still apply to them); a trailing
    /// '*' is a prefix match. null = <see cref="DefaultHeaderAllowList"/>.
    /// </summary>
    public string[]? HeaderAllowList { get; set; }

    /// <summary>Methods refused outright (case-insensitive); null = <see cref="DefaultDisallowedMethods"/>.</summary>
    public string[]? DisallowedMethods { get; set; }

    /// <summary>Rule ids switched off (for an emergency false-positive fix without a deployment).</summary>
    public int[] DisabledRuleIds { get; set; } = [];

    public static IReadOnlyList<string> DefaultRestrictedExtensions { get; } =
    [
        // Secrets and environment files.
        ".env", ".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".htpasswd", ".netrc", ".npmrc", ".pgpass",
        // Server and app configuration.
        ".htaccess", ".config", ".conf", ".cfg", ".ini", ".yml", ".yaml", ".toml", ".properties",
        // Source control and editor leftovers.
        ".git", ".svn", ".hg", ".bzr", ".ds_store", ".swp", ".swo",
        // Backups and dumps.
        ".bak", ".backup", ".old", ".orig", ".save", ".tmp", ".sql", ".sqlite", ".db", ".mdb", ".dump", ".log",
        // Server-side code a misconfigured static host might serve as text.
        ".asa", ".asax", ".ascx", ".cs", ".csproj", ".dll", ".pdb", ".php", ".jsp", ".cgi", ".sh",
    ];

    public static IReadOnlyList<string> DefaultHeaderAllowList { get; } =
    [
        // Credentials: opaque, and must never be looked at (or logged) beyond the edge authentication.
        "Authorization", "Proxy-Authorization",
        // W3C trace context: fixed hex grammar; baggage is not here, it carries free text.
        "traceparent", "tracestate",
        // Framing and content negotiation: grammar-checked by Kestrel; the protocol rules look at Content-Length.
        "Host", "Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection", "Accept*",
        // Conditional and cache headers carry quoted ETags ("..."), which look like quote breaks to the SQLi rules.
        "If-*", "Cache-Control", "Pragma",
        // Browser fetch metadata and client hints: quoted brand lists such as "Chromium";v="124".
        "Sec-*", "Upgrade-Insecure-Requests", "Priority", "DNT",
    ];

    public static IReadOnlyList<string> DefaultDisallowedMethods { get; } = ["TRACE", "TRACK", "CONNECT", "DEBUG"];
}
