using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gateway.Yarp.Waf;

/// <summary>
/// WAF counters on the "HeadyClouds.Gateway" meter (ServiceDefaults exports every "HeadyClouds.*" meter):
/// <c>heady.gateway.waf.matches</c> per matched rule, tagged <c>waf.rule.id</c>, <c>waf.rule.family</c> and
/// <c>waf.mode</c> (block or detect), and <c>heady.gateway.waf.blocked</c> per refused request.
/// </summary>
public sealed class WafMetrics
{
    public const string MeterName = "HeadyClouds.Gateway";
    public const string MatchesCounterName = "heady.gateway.waf.matches";
    public const string BlockedCounterName = "heady.gateway.waf.blocked";

    private readonly Counter<long> matches;
    private readonly Counter<long> blocked;

    public WafMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        matches = Meter.CreateCounter<long>(MatchesCounterName, "{match}", "Requests that matched a WAF rule, per rule.");
        blocked = Meter.CreateCounter<long>(BlockedCounterName, "{request}", "Requests refused by the WAF (403).");
    }

    /// <summary>The meter instance (tests listen to this one only, so parallel tests do not mix their counts).</summary>
    public Meter Meter { get; }

    public void Record(WafResult result)
    {
        var mode = result.DetectOnly ? "detect" : "block";
        foreach (var match in result.Matches)
        {
            var tags = new TagList
            {
                { "waf.rule.id", match.Rule.IdText },
                { "waf.rule.family", match.Rule.FamilyText },
                { "waf.mode", mode },
            };
            matches.Add(1, tags);
        }

        if (result.Blocked)
        {
            blocked.Add(1);
        }
    }
}
