namespace Gateway.Yarp.Waf;

/// <summary>
/// The rule catalogue. Ids follow the OWASP CRS numbering where CRS has an equivalent rule (911100, 920160, 920181,
/// 920270, 920271, 920280, 920360-920390, 920430, 920440, 930100-930120, 941110-941180, 942130-942350); rules CRS does
/// not have (limits ModSecurity enforces outside CRS, duplicate Host, NUL truncation) take ids from ranges CRS leaves
/// unused (9209xx, 9301xx). Ids never change meaning: add new ones instead.
/// </summary>
public static class WafRules
{
    // --- Protocol enforcement -------------------------------------------------------------------------------------
    public static readonly WafRule MethodNotAllowed = new(911100, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "HTTP method is not allowed by policy (TRACE, TRACK, CONNECT, DEBUG by default)");

    public static readonly WafRule InvalidContentLength = new(920160, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Content-Length is not a single non-negative decimal number (or repeats with different values)");

    public static readonly WafRule ContentLengthAndTransferEncoding = new(920181, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Both Content-Length and Transfer-Encoding are present (request smuggling)");

    public static readonly WafRule RawControlCharacter = new(920270, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Unencoded NUL or control byte in the path or query string");

    public static readonly WafRule EncodedControlCharacter = new(920271, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Percent-encoded control character (CR, LF, 0x01-0x1F except TAB, 0x7F) in the path or query string");

    public static readonly WafRule MissingHost = new(920280, WafFamily.ProtocolEnforcement, WafSeverity.Warning,
        "Host header missing or empty (HTTP/1.1 and later)");

    public static readonly WafRule ArgumentNameTooLong = new(920360, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Query argument name too long");

    public static readonly WafRule ArgumentValueTooLong = new(920370, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Query argument value too long");

    public static readonly WafRule TooManyArguments = new(920380, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Too many query arguments");

    public static readonly WafRule QueryStringTooLong = new(920390, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Total query string length exceeded");

    public static readonly WafRule ProtocolNotAllowed = new(920430, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "HTTP protocol version is not allowed (HTTP/1.0, 1.1, 2 and 3 are)");

    public static readonly WafRule DuplicateHost = new(920901, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "More than one Host header, or a Host header with several values");

    public static readonly WafRule TooManyHeaders = new(920902, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Too many request headers");

    public static readonly WafRule HeaderNameTooLong = new(920903, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Request header name too long");

    public static readonly WafRule HeaderValueTooLong = new(920904, WafFamily.ProtocolEnforcement, WafSeverity.Critical,
        "Request header value too long");

    // --- Restricted files ---------------------------------------------------------------------------------------------
    public static readonly WafRule RestrictedExtension = new(920440, WafFamily.RestrictedFile, WafSeverity.Critical,
        "URL path segment has a restricted file extension or names a restricted dot-file (.env, .git, .htaccess, *.bak, ...)");

    // --- Path traversal / LFI -----------------------------------------------------------------------------------------
    public static readonly WafRule EncodedPathTraversal = new(930100, WafFamily.PathTraversal, WafSeverity.Critical,
        "Path traversal with encoded, double-encoded, %u-encoded or overlong UTF-8 dots and slashes");

    public static readonly WafRule PathTraversal = new(930110, WafFamily.PathTraversal, WafSeverity.Critical,
        "Path traversal: a '..' path segment after decoding (../, ..\\, ..;/)");

    public static readonly WafRule OsFileAccess = new(930120, WafFamily.PathTraversal, WafSeverity.Critical,
        "Access to a sensitive operating-system file (/etc/passwd, /proc/self/environ, boot.ini, win.ini, ...)");

    public static readonly WafRule NulByte = new(930150, WafFamily.PathTraversal, WafSeverity.Critical,
        "NUL byte (%00) after decoding: file-name truncation");

    // --- XSS ------------------------------------------------------------------------------------------------------------
    public static readonly WafRule XssScriptTag = new(941110, WafFamily.Xss, WafSeverity.Critical,
        "XSS: <script> tag");

    public static readonly WafRule XssEventHandler = new(941120, WafFamily.Xss, WafSeverity.Critical,
        "XSS: DOM event handler attribute (onerror=, onload=, ...)");

    public static readonly WafRule XssHtmlInjection = new(941160, WafFamily.Xss, WafSeverity.Critical,
        "XSS: active HTML tag (<iframe, <svg, <img, <object, <embed, ...)");

    public static readonly WafRule XssScriptUri = new(941170, WafFamily.Xss, WafSeverity.Critical,
        "XSS: javascript:/vbscript: URI or HTML/SVG data: URI");

    public static readonly WafRule XssDomKeyword = new(941180, WafFamily.Xss, WafSeverity.Warning,
        "XSS: DOM sink keyword (document.cookie, .innerHTML, String.fromCharCode, ...)");

    // --- SQL injection ------------------------------------------------------------------------------------------------
    public static readonly WafRule SqliTautology = new(942130, WafFamily.Sqli, WafSeverity.Critical,
        "SQLi: boolean condition after a quote break (' OR 1=1, \" or \"\"=\") or an unquoted x=x tautology");

    public static readonly WafRule SqliDatabaseNames = new(942140, WafFamily.Sqli, WafSeverity.Warning,
        "SQLi: system catalogue name (information_schema, pg_catalog, sysobjects, ...)");

    public static readonly WafRule SqliTimeBased = new(942160, WafFamily.Sqli, WafSeverity.Critical,
        "SQLi: time-based blind probe (SLEEP(n), BENCHMARK(n,...), WAITFOR DELAY, pg_sleep)");

    public static readonly WafRule SqliCommentBypass = new(942180, WafFamily.Sqli, WafSeverity.Critical,
        "SQLi: quote followed by a comment (admin'--, admin'#)");

    public static readonly WafRule SqliMssqlExec = new(942190, WafFamily.Sqli, WafSeverity.Critical,
        "SQLi: MSSQL code execution (xp_cmdshell, sp_executesql, OPENROWSET, EXEC master..)");

    public static readonly WafRule SqliCommentObfuscation = new(942200, WafFamily.Sqli, WafSeverity.Error,
        "SQLi: comment obfuscation next to SQL syntax (UNION/**/SELECT, /*!50000 ...*/)");

    public static readonly WafRule SqliUnionSelect = new(942270, WafFamily.Sqli, WafSeverity.Critical,
        "SQLi: UNION [ALL] SELECT with a select list");

    public static readonly WafRule SqliQuoteBreakProbe = new(942330, WafFamily.Sqli, WafSeverity.Critical,
        "SQLi: probe after a quote break (' ORDER BY 1, ' UNION SELECT, ' AND extractvalue(...), ' OR (SELECT ...))");

    public static readonly WafRule SqliStackedQuery = new(942350, WafFamily.Sqli, WafSeverity.Critical,
        "SQLi: stacked query (; DROP TABLE, ; DELETE FROM, ; EXEC, ...)");

    /// <summary>Every rule, by id.</summary>
    public static IReadOnlyList<WafRule> All { get; } =
    [
        MethodNotAllowed, InvalidContentLength, ContentLengthAndTransferEncoding, RawControlCharacter, EncodedControlCharacter,
        MissingHost, ArgumentNameTooLong, ArgumentValueTooLong, TooManyArguments, QueryStringTooLong, ProtocolNotAllowed,
        DuplicateHost, TooManyHeaders, HeaderNameTooLong, HeaderValueTooLong,
        RestrictedExtension,
        EncodedPathTraversal, PathTraversal, OsFileAccess, NulByte,
        XssScriptTag, XssEventHandler, XssHtmlInjection, XssScriptUri, XssDomKeyword,
        SqliTautology, SqliDatabaseNames, SqliTimeBased, SqliCommentBypass, SqliMssqlExec, SqliCommentObfuscation,
        SqliUnionSelect, SqliQuoteBreakProbe, SqliStackedQuery,
    ];

    public static WafRule? Find(int id) => All.FirstOrDefault(r => r.Id == id);
}
