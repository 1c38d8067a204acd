using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Yarp.Waf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>The middleware in a real (in-memory) ASP.NET Core pipeline: TestServer, no network.</summary>
public sealed class WafMiddlewareTests
{
    private const string Token = "hc_AbC-_123xyz789QRSTuvw-_0123456789abcdefABCDEF";
    private const string Marker = "pwned-marker-7f3a";
    private const string FilesPath = "/api/v1/workspaces/0193f5b6-7c2d-7a1e-9b3f-2c4d5e6f7a8b/files";

    // ' OR 'pwned-marker-7f3a'='pwned-marker-7f3a  -- a tautology whose text must never come back.
    private static readonly string AttackQuery = "?name=" + Uri.EscapeDataString($"' OR '{Marker}'='{Marker}");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AttackIsRefusedWithProblemDetailsThatDoNotEchoThePayload(bool problemDetailsService)
    {
        await using var host = await WafHost.StartAsync(problemDetailsService: problemDetailsService);

        using var response = await host.Client.SendAsync(Get(FilesPath + AttackQuery));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains("X-Upstream"));
        Assert.Equal(0, host.UpstreamCalls);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal(403, json.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Forbidden", json.RootElement.GetProperty("title").GetString());
        Assert.Equal(WafMiddleware.BlockedDetail, json.RootElement.GetProperty("detail").GetString());
        var requestId = json.RootElement.GetProperty("requestId").GetString();
        Assert.False(string.IsNullOrEmpty(requestId));
        Assert.Contains(942130, json.RootElement.GetProperty("ruleIds").EnumerateArray().Select(e => e.GetInt32()));

        Assert.DoesNotContain(Marker, body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("OR '", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("name=", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Token, body, StringComparison.Ordinal);

        // The requestId in the body is the one in the security event, so support can find the log line.
        var logged = Assert.Single(host.Logs.Events, e => e.EventId.Id == 4030);
        Assert.Equal(requestId, logged.State["RequestId"]);
    }

    [Fact]
    public async Task AClientThatAcceptsOnlyHtmlStillGetsProblemJson()
    {
        await using var host = await WafHost.StartAsync();
        using var request = Get(FilesPath + AttackQuery);
        request.Headers.Accept.Clear();
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(Marker, await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("?path=..%2F..%2Fetc%2Fpasswd", 930110)]
    [InlineData("?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", 941110)]
    [InlineData("?id=1%20UNION%20SELECT%20password%20FROM%20users--", 942270)]
    [InlineData("?name=report.pdf%2500.jpg", 930150)]
    public async Task AttacksOfEachFamilyAreRefused(string query, int ruleId)
    {
        await using var host = await WafHost.StartAsync();

        using var response = await host.Client.SendAsync(Get(FilesPath + query));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(ruleId.ToString(System.Globalization.CultureInfo.InvariantCulture), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisallowedMethodIsRefused()
    {
        await using var host = await WafHost.StartAsync();

        using var response = await host.Client.SendAsync(new HttpRequestMessage(new HttpMethod("TRACE"), FilesPath));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("911100", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestrictedPathIsRefused()
    {
        await using var host = await WafHost.StartAsync();

        using var response = await host.Client.SendAsync(Get("/.env"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("920440", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("O'Brien's notes (final).docx")]
    [InlineData("report; draft [v2].pdf")]
    [InlineData("Ünïcödé 日本語 ファイル.txt")]
    [InlineData("emoji 🎉📁.png")]
    [InlineData("a&b=c.txt")]
    [InlineData("SELECT committee minutes.docx")]
    [InlineData("union station photos.zip")]
    [InlineData("1=1 math.txt")]
    [InlineData("script notes.md")]
    [InlineData("C# cheatsheet.md")]
    [InlineData(".env")]
    public async Task LegitimateRequestReachesTheNextMiddleware(string fileName)
    {
        await using var host = await WafHost.StartAsync();

        using var response = await host.Client.SendAsync(Get(FilesPath + "?name=" + Uri.EscapeDataString(fileName)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("reached", response.Headers.GetValues("X-Upstream").Single());
        Assert.Equal(1, host.UpstreamCalls);
        Assert.Equal(fileName, host.LastQueryName);
        Assert.DoesNotContain(host.Logs.Events, e => e.Category == typeof(WafMiddleware).FullName);
    }

    [Fact]
    public async Task TheBodyIsNeitherReadNorInspected()
    {
        await using var host = await WafHost.StartAsync();
        const string json = """{"name":"' OR 1=1--","path":"../../etc/passwd","note":"<script>alert(1)</script>"}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/workspaces/")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await host.Client.SendAsync(request);

        // File names travel in JSON bodies; the WAF leaves bodies to the services and hands the stream on untouched.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("upstream:" + json, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task DetectOnlyLetsTheAttackThroughButLogsAndCountsIt()
    {
        await using var host = await WafHost.StartAsync(new() { ["Waf:DetectOnly"] = "true" });
        using var metrics = new MetricsCollector(host.Metrics.Meter);

        using var response = await host.Client.SendAsync(Get(FilesPath + AttackQuery));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, host.UpstreamCalls);
        var logged = Assert.Single(host.Logs.Events, e => e.EventId.Id == 4031);
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Contains("942130", (string)logged.State["RuleIds"]!, StringComparison.Ordinal);
        var match = Assert.Single(metrics.Measurements, m => m.Instrument == WafMetrics.MatchesCounterName && (string?)m.Tags["waf.rule.id"] == "942130");
        Assert.Equal("detect", match.Tags["waf.mode"]);
        Assert.DoesNotContain(metrics.Measurements, m => m.Instrument == WafMetrics.BlockedCounterName);
    }

    [Fact]
    public async Task MetricsCountMatchesPerRuleAndBlockedRequests()
    {
        await using var host = await WafHost.StartAsync();
        using var metrics = new MetricsCollector(host.Metrics.Meter);

        using (await host.Client.SendAsync(Get(FilesPath + "?name=" + Uri.EscapeDataString("information_schema")))) { }
        using (await host.Client.SendAsync(Get(FilesPath + "?name=" + Uri.EscapeDataString("1 UNION SELECT a, b FROM information_schema.tables--")))) { }
        using (await host.Client.SendAsync(Get(FilesPath + "?name=ok.txt"))) { }

        var matches = metrics.Measurements.Where(m => m.Instrument == WafMetrics.MatchesCounterName).ToList();
        Assert.All(matches, m => Assert.Equal(1, m.Value));
        Assert.Equal(2, matches.Count(m => (string?)m.Tags["waf.rule.id"] == "942140"));
        var union = Assert.Single(matches, m => (string?)m.Tags["waf.rule.id"] == "942270");
        Assert.Equal("sqli", union.Tags["waf.rule.family"]);
        Assert.Equal("block", union.Tags["waf.mode"]);
        var blocked = Assert.Single(metrics.Measurements, m => m.Instrument == WafMetrics.BlockedCounterName);
        Assert.Equal(1, blocked.Value);
        Assert.Equal(WafMetrics.MeterName, host.Metrics.Meter.Name);

        // The below-threshold match is logged as information, the block as a warning.
        Assert.Single(host.Logs.Events, e => e.EventId.Id == 4032 && e.Level == LogLevel.Information);
        Assert.Single(host.Logs.Events, e => e.EventId.Id == 4030 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task TheSecurityEventIsStructuredAndCarriesNoRequestData()
    {
        await using var host = await WafHost.StartAsync();
        using var request = Get(FilesPath + AttackQuery);
        request.Headers.Add("Cookie", "session=" + Marker);
        request.Headers.Add("X-Note", "<script>" + Marker + "</script>");

        using (await host.Client.SendAsync(request)) { }

        var logged = Assert.Single(host.Logs.Events, e => e.EventId.Id == 4030);
        Assert.Equal("WafBlocked", logged.EventId.Name);
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Equal("GET", logged.State["Method"]);
        Assert.Equal(FilesPath, logged.State["Path"]);
        Assert.Equal(5, logged.State["Threshold"]);
        Assert.True((int)logged.State["Score"]! >= 5);
        Assert.Contains("942130", (string)logged.State["RuleIds"]!, StringComparison.Ordinal);
        Assert.Contains("941110", (string)logged.State["RuleIds"]!, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty((string?)logged.State["ClientIp"]));

        // (ASP.NET Core's own "Request starting" line does log the URL: appsettings keeps Microsoft.AspNetCore at Warning.)
        var wafEvents = host.Logs.Events.Where(e => e.Category == typeof(WafMiddleware).FullName).ToList();
        Assert.NotEmpty(wafEvents);
        foreach (var text in wafEvents.SelectMany(e => e.State.Values.Select(v => v?.ToString() ?? string.Empty).Append(e.Message)))
        {
            Assert.DoesNotContain(Marker, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
            Assert.DoesNotContain("name=", text, StringComparison.Ordinal);
            Assert.DoesNotContain("<script>", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DisabledWafPassesEverything()
    {
        await using var host = await WafHost.StartAsync(new() { ["Waf:Enabled"] = "false" });
        using var metrics = new MetricsCollector(host.Metrics.Meter);

        using var response = await host.Client.SendAsync(Get(FilesPath + AttackQuery));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(metrics.Measurements);
        Assert.DoesNotContain(host.Logs.Events, e => e.Category == typeof(WafMiddleware).FullName);
    }

    [Fact]
    public async Task ARegexTimeoutIsA403NotA500()
    {
        await using var host = await WafHost.StartAsync(configureServices: services => services.AddSingleton(sp =>
            new WafEngineProvider(sp.GetRequiredService<IOptionsMonitor<WafOptions>>(), [WafEngineTests.SlowSignatureWithoutLinearTwin()])));

        using var response = await host.Client.SendAsync(Get(FilesPath + "?name=" + WafEngineTests.SlowInput));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("942999", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(host.Logs.Events, e => e.EventId.Id == 4033);
    }

    [Fact]
    public void UseWafWithoutAddWafFailsClearly()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseTestServer();
        var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.UseWaf());
        Assert.Contains("AddWaf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRequestIsTakenFromTheRawTargetWithEveryHeaderLine()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Protocol = "HTTP/2";
        context.Request.Path = "/a/b";
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = "/a/%2e%2e/b?x=%27&y";
        context.Request.Headers.Host = new StringValues(["one.example", "two.example"]);
        context.Request.Headers["X-Empty"] = string.Empty;

        var request = WafMiddleware.CreateRequest(context);

        Assert.Equal("/a/%2e%2e/b", request.RawPath);
        Assert.Equal("x=%27&y", request.RawQuery);
        Assert.Equal("HTTP/2", request.Protocol);
        Assert.Equal(["one.example", "two.example"], request.Headers.Where(h => h.Name == "Host").Select(h => h.Value));
        Assert.Contains(new WafHeader("X-Empty", string.Empty), request.Headers);
    }

    [Fact]
    public void WithoutARawTargetThePathAndQueryAreUsed()
    {
        var context = new DefaultHttpContext();
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = string.Empty;
        context.Request.PathBase = "/base";
        context.Request.Path = "/a b";
        context.Request.QueryString = new QueryString("?q=1");

        var request = WafMiddleware.CreateRequest(context);

        Assert.Equal("/base/a%20b", request.RawPath);
        Assert.Equal("?q=1", request.RawQuery);
    }

    [Theory]
    [InlineData("/p?q=1", "/p", "q=1")]
    [InlineData("/p", "/p", "")]
    [InlineData("/p?", "/p", "")]
    [InlineData("http://host.example/p/q?x=1", "/p/q", "x=1")]
    [InlineData("http://host.example?x=1", "/", "?x=1")]
    [InlineData("http://host.example", "/", "")]
    [InlineData("*", "*", null)]
    [InlineData("host.example:443", null, null)]
    [InlineData("", null, null)]
    public void RequestTargetsAreSplit(string target, string? path, string? query)
    {
        var (actualPath, actualQuery) = WafMiddleware.SplitTarget(target);

        Assert.Equal(path, actualPath);
        if (path is not null && query is not null)
        {
            Assert.Equal(query.TrimStart('?'), actualQuery!.TrimStart('?'));
        }
    }

    [Theory]
    [InlineData("/plain/path", 100, "/plain/path")]
    [InlineData("/line\r\nforged: entry", 100, "/line??forged: entry")]
    [InlineData("/abcdef", 3, "/ab…")]
    public void LoggedValuesAreSanitized(string value, int max, string expected) => Assert.Equal(expected, WafMiddleware.Sanitize(value, max));

    private static HttpRequestMessage Get(string uri)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        request.Headers.UserAgent.ParseAdd(WafTest.ChromeUserAgent);
        request.Headers.Accept.ParseAdd("application/json");
        return request;
    }

    private sealed class WafHost(WebApplication app, LogSink logs) : IAsyncDisposable
    {
        private int upstreamCalls;

        public HttpClient Client { get; private set; } = null!;

        public LogSink Logs => logs;

        public WafMetrics Metrics => app.Services.GetRequiredService<WafMetrics>();

        public int UpstreamCalls => Volatile.Read(ref upstreamCalls);

        public string? LastQueryName { get; private set; }

        public static async Task<WafHost> StartAsync(
            Dictionary<string, string?>? configuration = null,
            bool problemDetailsService = true,
            Action<IServiceCollection>? configureServices = null)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseTestServer();
            builder.Configuration.AddInMemoryCollection(configuration ?? []);
            var logs = new LogSink();
            builder.Logging.SetMinimumLevel(LogLevel.Debug).AddProvider(logs);
            if (problemDetailsService)
            {
                // As in production: ServiceDefaults' problem details (which add a traceId).
                builder.AddHeadyProblemDetails();
            }

            builder.AddWaf();
            configureServices?.Invoke(builder.Services);
            var app = builder.Build();
            var host = new WafHost(app, logs);
            app.UseWaf();
            app.Run(async context =>
            {
                Interlocked.Increment(ref host.upstreamCalls);
                host.LastQueryName = context.Request.Query["name"];
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                context.Response.Headers["X-Upstream"] = "reached";
                await context.Response.WriteAsync("upstream:" + body);
            });
            await app.StartAsync();
            host.Client = app.GetTestClient();
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public sealed record LogEvent(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> State);

    public sealed class LogSink : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogEvent> events = new();

        public IReadOnlyList<LogEvent> Events => [.. events];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, events);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<LogEvent> events) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
                events.Enqueue(new LogEvent(category, logLevel, eventId, formatter(state, exception), values.ToDictionary(kv => kv.Key, kv => kv.Value)));
            }
        }
    }

    public sealed record Measurement(string Instrument, long Value, IReadOnlyDictionary<string, object?> Tags);

    /// <summary>Listens to one Meter instance only, so tests running in parallel never see each other's counts.</summary>
    public sealed class MetricsCollector : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly ConcurrentQueue<Measurement> measurements = new();

        public MetricsCollector(Meter meter)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
                measurements.Enqueue(new Measurement(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
            listener.Start();
        }

        public IReadOnlyList<Measurement> Measurements => [.. measurements];

        public void Dispose() => listener.Dispose();
    }
}
