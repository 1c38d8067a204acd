using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using SyncManager.Audit;
using SyncManager.Jobs;
using YamlDotNet.RepresentationModel;

namespace SyncManager.Tests.Unit;

/// <summary>promtool is not installed: the rules file is checked for shape here, and against the metrics SyncManager publishes.</summary>
public sealed partial class AlertRulesTests
{
    private static readonly string RulesPath = Path.Combine(AppContext.BaseDirectory, "alerts", "headyclouds.rules.yml");

    private static YamlMappingNode Load()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(RulesPath);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static IEnumerable<YamlMappingNode> Rules(YamlMappingNode root) =>
        ((YamlSequenceNode)root["groups"]).Cast<YamlMappingNode>().SelectMany(g => ((YamlSequenceNode)g["rules"]).Cast<YamlMappingNode>());

    [Fact]
    public void EveryRuleHasTheFieldsPrometheusNeeds()
    {
        var root = Load();
        var groups = ((YamlSequenceNode)root["groups"]).Cast<YamlMappingNode>().ToList();
        Assert.NotEmpty(groups);
        Assert.All(groups, g => Assert.False(string.IsNullOrEmpty(((YamlScalarNode)g["name"]).Value)));
        var rules = Rules(root).ToList();
        Assert.All(rules, r =>
        {
            var name = ((YamlScalarNode)r["alert"]).Value!;
            Assert.Matches("^[A-Z][A-Za-z0-9]+$", name);
            Assert.False(string.IsNullOrWhiteSpace(((YamlScalarNode)r["expr"]).Value), name);
            Assert.Contains(((YamlScalarNode)((YamlMappingNode)r["labels"])["severity"]).Value, new[] { "warning", "critical" });
            Assert.False(string.IsNullOrWhiteSpace(((YamlScalarNode)((YamlMappingNode)r["annotations"])["summary"]).Value), name);
            if (r.Children.TryGetValue(new YamlScalarNode("for"), out var f))
            {
                Assert.Matches(@"^\d+[smhd]$", ((YamlScalarNode)f).Value!);
            }
        });
        Assert.Equal(rules.Count, rules.Select(r => ((YamlScalarNode)r["alert"]).Value).Distinct().Count());
    }

    [Fact]
    public void CoversFailingSyncsStuckJobsCertificateExpiryAndTheAuditChain()
    {
        var exprs = string.Join("\n", Rules(Load()).Select(r => ((YamlScalarNode)r["expr"]).Value));
        Assert.Contains("job_type=\"repository-sync\"", exprs);
        Assert.Contains("heady_jobs_expired_leases", exprs);
        Assert.Contains("heady_certificates_expiry_seconds", exprs);
        Assert.Contains("heady_audit_chain_valid", exprs);
    }

    [Fact]
    public void EveryMetricTheRulesNameIsOneSyncManagerPublishes()
    {
        var services = new ServiceCollection().AddMetrics().AddSingleton(TimeProvider.System)
            .AddSingleton<JobMetrics>().AddSingleton<AuditMetrics>().AddSingleton<CertificateMetrics>().BuildServiceProvider();
        var published = new HashSet<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == JobMetrics.MeterName)
                {
                    foreach (var name in PrometheusNames(instrument))
                    {
                        published.Add(name);
                    }
                }
            },
        };
        listener.Start();
        _ = services.GetRequiredService<JobMetrics>();
        _ = services.GetRequiredService<AuditMetrics>();
        _ = services.GetRequiredService<CertificateMetrics>();

        var named = Rules(Load()).SelectMany(r => MetricName().Matches(((YamlScalarNode)r["expr"]).Value!).Select(m => m.Value)).ToHashSet();
        Assert.NotEmpty(named);
        Assert.All(named, n => Assert.Contains(n, published));
    }

    private static IEnumerable<string> PrometheusNames(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_') + (instrument.Unit == "s" ? "_seconds" : "");
        var type = instrument.GetType().GetGenericTypeDefinition();
        if (type == typeof(Counter<>))
        {
            return [name + "_total"];
        }

        return type == typeof(Histogram<>) ? [name + "_bucket", name + "_sum", name + "_count"] : [name];
    }

    [GeneratedRegex(@"heady_[a-z_]+")]
    private static partial Regex MetricName();
}
