using System.Text.RegularExpressions;

namespace Gateway.Yarp.Waf;

/// <summary>
/// Evaluates one request against the rule catalogue, CRS anomaly-scoring style: each rule that matches adds its score
/// once (however many values it matched), and the request is blocked when the total reaches the inbound threshold.
/// Pure and I/O-free: no HttpContext, no clock, no logging; safe to share between threads.
/// </summary>
public sealed class WafEngine
{
    private static readonly HashSet<string> AllowedProtocols = new(StringComparer.OrdinalIgnoreCase)
    {
        "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3", "HTTP/3.0",
    };

    private readonly WafOptions options;
    private readonly WafSignature[] signatures;
    private readonly HashSet<int> disabled;
    private readonly HashSet<string> restrictedExtensions;
    private readonly HashSet<string> disallowedMethods;
    private readonly HashSet<string> allowedHeaders;
    private readonly string[] allowedHeaderPrefixes;

    public WafEngine(WafOptions options)
        : this(options, WafSignatures.Default)
    {
    }

    /// <summary>With a custom signature list (tests use it to exercise regex timeouts).</summary>
    public WafEngine(WafOptions options, IEnumerable<WafSignature> signatures)
    {
        this.options = options;
        disabled = [.. options.DisabledRuleIds];
        this.signatures = signatures.Where(s => !disabled.Contains(s.Rule.Id)).ToArray();
        restrictedExtensions = new(
            (options.RestrictedExtensions ?? WafOptions.DefaultRestrictedExtensions).Select(e => e.StartsWith('.') ? e : "." + e),
            StringComparer.OrdinalIgnoreCase);
        disallowedMethods = new(options.DisallowedMethods ?? WafOptions.DefaultDisallowedMethods, StringComparer.OrdinalIgnoreCase);
        var allowList = options.HeaderAllowList ?? WafOptions.DefaultHeaderAllowList;
        allowedHeaders = new(allowList.Where(h => !h.EndsWith('*')), StringComparer.OrdinalIgnoreCase);
        allowedHeaderPrefixes = allowList.Where(h => h.EndsWith('*')).Select(h => h[..^1]).ToArray();
    }

    public WafOptions Options => options;

    public WafResult Evaluate(WafRequest request)
    {
        if (!options.Enabled)
        {
            return WafResult.None;
        }

        var scan = new Scan(this);
        CheckMethodAndProtocol(request, scan);
        CheckHeaders(request, scan);
        CheckPath(request.RawPath ?? string.Empty, scan);
        CheckQuery(request.RawQuery ?? string.Empty, scan);
        return new WafResult(scan.Matches, scan.Score, options.InboundThreshold, options.DetectOnly);
    }

    /// <summary>True when signatures skip this header (limits still apply).</summary>
    public bool IsAllowListed(string headerName)
    {
        if (allowedHeaders.Contains(headerName))
        {
            return true;
        }

        foreach (var prefix in allowedHeaderPrefixes)
        {
            if (headerName.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private void CheckMethodAndProtocol(WafRequest request, Scan scan)
    {
        if (disallowedMethods.Contains(request.Method ?? string.Empty))
        {
            scan.Add(WafRules.MethodNotAllowed, "REQUEST_METHOD");
        }

        if (!AllowedProtocols.Contains(request.Protocol ?? string.Empty))
        {
            scan.Add(WafRules.ProtocolNotAllowed, "REQUEST_PROTOCOL");
        }
    }

    private void CheckHeaders(WafRequest request, Scan scan)
    {
        var headers = request.Headers ?? [];
        var lines = 0;
        var cookieCounted = false;
        var hosts = new List<string>(1);
        var contentLengths = new List<string>(1);
        var transferEncoding = false;

        foreach (var (name, value) in headers)
        {
            var isCookie = string.Equals(name, "Cookie", StringComparison.OrdinalIgnoreCase);

            // HTTP/2 and 3 may split Cookie into one field per crumb (RFC 9113 8.2.3): count it once, as HTTP/1.1 would.
            if (!isCookie || !cookieCounted)
            {
                lines++;
                cookieCounted |= isCookie;
            }

            if (name.Length > options.MaxHeaderNameLength)
            {
                scan.Add(WafRules.HeaderNameTooLong, "REQUEST_HEADERS_NAMES");
            }

            if ((value ?? string.Empty).Length > options.MaxHeaderValueLength)
            {
                scan.Add(WafRules.HeaderValueTooLong, "REQUEST_HEADERS:" + name);
            }

            if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
            {
                hosts.Add(value ?? string.Empty);
            }
            else if (string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLengths.Add(value ?? string.Empty);
            }
            else if (string.Equals(name, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                transferEncoding = true;
            }

            if (value is not null && !IsAllowListed(name))
            {
                if (isCookie)
                {
                    foreach (var crumb in value.Split(';'))
                    {
                        var equals = crumb.IndexOf('=');
                        var cookieName = (equals < 0 ? crumb : crumb[..equals]).Trim();
                        scan.Signatures(WafTargets.Headers, "REQUEST_COOKIES:" + cookieName, equals < 0 ? crumb : crumb[(equals + 1)..], plusIsSpace: false);
                        scan.Signatures(WafTargets.Headers, "REQUEST_COOKIES_NAMES", cookieName, plusIsSpace: false);
                    }
                }
                else
                {
                    scan.Signatures(WafTargets.Headers, "REQUEST_HEADERS:" + name, value, plusIsSpace: false);
                }
            }
        }

        if (lines > options.MaxHeaders)
        {
            scan.Add(WafRules.TooManyHeaders, "REQUEST_HEADERS");
        }

        if (hosts.Count > 1 || (hosts.Count == 1 && hosts[0].Contains(',')))
        {
            scan.Add(WafRules.DuplicateHost, "REQUEST_HEADERS:Host");
        }
        else if ((hosts.Count == 0 || string.IsNullOrWhiteSpace(hosts[0]))
                 && !string.Equals(request.Protocol, "HTTP/1.0", StringComparison.OrdinalIgnoreCase))
        {
            // Tuned: HTTP/1.0 has no Host requirement (RFC 1945) and load-balancer health probes still send it bare.
            scan.Add(WafRules.MissingHost, "REQUEST_HEADERS:Host");
        }

        if (contentLengths.Count > 0)
        {
            if (contentLengths.Any(v => !IsContentLength(v)) || contentLengths.Select(v => v.Trim()).Distinct(StringComparer.Ordinal).Count() > 1)
            {
                scan.Add(WafRules.InvalidContentLength, "REQUEST_HEADERS:Content-Length");
            }

            if (transferEncoding)
            {
                scan.Add(WafRules.ContentLengthAndTransferEncoding, "REQUEST_HEADERS:Transfer-Encoding");
            }
        }
    }

    private static bool IsContentLength(string value)
    {
        // RFC 9110 8.6: 1*DIGIT, optional surrounding whitespace. No sign, no list, and it must fit a long.
        var trimmed = value.AsSpan().Trim(" \t");
        if (trimmed.Length is 0 or > 18)
        {
            return false;
        }

        foreach (var c in trimmed)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private void CheckPath(string rawPath, Scan scan)
    {
        if (HasControl(rawPath, includeTab: true))
        {
            scan.Add(WafRules.RawControlCharacter, "REQUEST_URI_RAW");
        }

        var decoded = WafTransforms.UrlDecodeRepeated(rawPath, plusIsSpace: false);
        CheckDecodedBytes(decoded, "REQUEST_FILENAME", scan);
        scan.Signatures(WafTargets.Path, "REQUEST_FILENAME", rawPath, decoded);
        CheckRestrictedExtensions(decoded, scan);
    }

    private void CheckRestrictedExtensions(string decodedPath, Scan scan)
    {
        if (disabled.Contains(WafRules.RestrictedExtension.Id))
        {
            return;
        }

        foreach (var raw in decodedPath.Split('/', '\\'))
        {
            // Windows ignores trailing dots and spaces and the ::$DATA stream suffix; Tomcat and Jetty drop ";params".
            // Without this, "/.env." or "/web.config::$DATA" or "/.git;x/config" would slip past.
            var segment = raw;
            var semicolon = segment.IndexOf(';');
            if (semicolon >= 0)
            {
                segment = segment[..semicolon];
            }

            var stream = segment.IndexOf("::", StringComparison.Ordinal);
            if (stream >= 0)
            {
                segment = segment[..stream];
            }

            segment = segment.TrimEnd('.', ' ');
            if (segment.Length == 0)
            {
                continue;
            }

            // A dot-file is judged by its first component (".env.local" -> ".env", ".git" -> ".git"), any other name by
            // its last extension ("dump.sql" -> ".sql"; "v1.2" -> ".2" is fine).
            var lastDot = segment.LastIndexOf('.');
            string? dotFile = null;
            if (segment[0] == '.')
            {
                var secondDot = segment.IndexOf('.', 1);
                dotFile = secondDot > 0 ? segment[..secondDot] : segment;
            }

            if ((dotFile is not null && restrictedExtensions.Contains(dotFile))
                || (lastDot >= 0 && restrictedExtensions.Contains(segment[lastDot..])))
            {
                scan.Add(WafRules.RestrictedExtension, "REQUEST_FILENAME");
                return;
            }
        }
    }

    private void CheckQuery(string rawQuery, Scan scan)
    {
        if (rawQuery.StartsWith('?'))
        {
            rawQuery = rawQuery[1..];
        }

        if (rawQuery.Length == 0)
        {
            return;
        }

        if (rawQuery.Length > options.MaxQueryStringLength)
        {
            scan.Add(WafRules.QueryStringTooLong, "QUERY_STRING");
        }

        if (HasControl(rawQuery, includeTab: true))
        {
            scan.Add(WafRules.RawControlCharacter, "QUERY_STRING");
        }

        var count = 0;
        foreach (var pair in rawQuery.Split('&'))
        {
            if (pair.Length == 0)
            {
                continue;
            }

            count++;
            var equals = pair.IndexOf('=');
            var rawName = equals < 0 ? pair : pair[..equals];
            var rawValue = equals < 0 ? string.Empty : pair[(equals + 1)..];

            var name = WafTransforms.UrlDecodeUni(rawName, plusIsSpace: true);
            var value = WafTransforms.UrlDecodeUni(rawValue, plusIsSpace: true);
            if (name.Length > options.MaxArgumentNameLength)
            {
                scan.Add(WafRules.ArgumentNameTooLong, "ARGS_NAMES");
            }

            if (value.Length > options.MaxArgumentValueLength)
            {
                scan.Add(WafRules.ArgumentValueTooLong, "ARGS:" + Truncate(name));
            }

            var decodedName = WafTransforms.UrlDecodeRepeated(name, plusIsSpace: false);
            var decodedValue = WafTransforms.UrlDecodeRepeated(value, plusIsSpace: false);
            CheckDecodedBytes(decodedName, "ARGS_NAMES", scan);
            CheckDecodedBytes(decodedValue, "ARGS:" + Truncate(name), scan);
            scan.Signatures(WafTargets.ArgNames, "ARGS_NAMES", rawName, decodedName);
            scan.Signatures(WafTargets.ArgValues, "ARGS:" + Truncate(name), rawValue, decodedValue);
        }

        if (count > options.MaxArguments)
        {
            scan.Add(WafRules.TooManyArguments, "ARGS");
        }
    }

    private static void CheckDecodedBytes(string decoded, string target, Scan scan)
    {
        if (decoded.Contains('\0'))
        {
            scan.Add(WafRules.NulByte, target);
        }

        // Tuned: TAB is allowed (it survives copy-paste into file names and is harmless in a value); CR and LF are not
        // (header and log injection).
        if (HasControl(decoded, includeTab: false, includeNul: false))
        {
            scan.Add(WafRules.EncodedControlCharacter, target);
        }
    }

    private static bool HasControl(string text, bool includeTab, bool includeNul = true)
    {
        foreach (var c in text)
        {
            if ((c < 0x20 || c == 0x7f) && (includeTab || c != '\t') && (includeNul || c != '\0'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Argument names are attacker-chosen: a target keeps at most 64 characters of one.</summary>
    private static string Truncate(string name) => name.Length <= 64 ? name : name[..64];

    /// <summary>Per-request accumulator: matched rules (each once), score, and the signature loop with lazy views.</summary>
    private sealed class Scan(WafEngine engine)
    {
        private readonly HashSet<int> matched = [];

        public List<WafMatch> Matches { get; } = [];

        public int Score { get; private set; }

        public void Add(WafRule rule, string target, bool timedOut = false)
        {
            if (engine.disabled.Contains(rule.Id) || !matched.Add(rule.Id))
            {
                return;
            }

            Matches.Add(new WafMatch(rule, target, timedOut));
            Score += rule.Score;
        }

        public void Signatures(WafTargets kind, string target, string raw, bool plusIsSpace) =>
            Signatures(kind, target, raw, WafTransforms.UrlDecodeRepeated(raw, plusIsSpace));

        public void Signatures(WafTargets kind, string target, string raw, string decoded)
        {
            if (raw.Length == 0)
            {
                return;
            }

            string? normalized = null, pathNormalized = null, sql = null;
            foreach (var signature in engine.signatures)
            {
                if ((signature.Targets & kind) == 0 || matched.Contains(signature.Rule.Id))
                {
                    continue;
                }

                var text = signature.View switch
                {
                    WafView.Raw => raw,
                    WafView.Decoded => decoded,
                    WafView.Normalized => normalized ??= WafTransforms.Normalize(decoded),
                    WafView.PathNormalized => pathNormalized ??= (normalized ??= WafTransforms.Normalize(decoded)).Replace('\\', '/'),
                    WafView.Sql => sql ??= WafTransforms.ReplaceSqlComments(normalized ??= WafTransforms.Normalize(decoded)),
                    _ => decoded,
                };

                try
                {
                    if (signature.Pattern.IsMatch(text))
                    {
                        Add(signature.Rule, target);
                    }
                }
                catch (RegexMatchTimeoutException)
                {
                    if (signature.Linear is { } linear)
                    {
                        // Decided exactly, in linear time: neither a pathological input nor a busy machine blocks
                        // harmless traffic, and an attack still matches.
                        if (linear.IsMatch(text))
                        {
                            Add(signature.Rule, target);
                        }
                    }
                    else
                    {
                        // Fail closed: no linear engine for this pattern, so no answer in bounded time. A match, not a 500.
                        Add(signature.Rule, target, timedOut: true);
                    }
                }
            }
        }
    }
}
