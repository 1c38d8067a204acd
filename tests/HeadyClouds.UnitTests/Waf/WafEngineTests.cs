using System.Text.RegularExpressions;
using Gateway.Yarp.Waf;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static HeadyClouds.UnitTests.Waf.WafTest;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>Anomaly scoring, threshold, detect-only, disabled rules, regex timeouts, the catalogue and options binding.</summary>
public sealed class WafEngineTests
{
    private static WafResult With(WafOptions options, WafRequest request) => new WafEngine(options).Evaluate(request);

    [Theory]
    [InlineData(WafSeverity.Critical, 5)]
    [InlineData(WafSeverity.Error, 4)]
    [InlineData(WafSeverity.Warning, 3)]
    [InlineData(WafSeverity.Notice, 2)]
    public void SeverityScoresAreThoseOfCrs(WafSeverity severity, int score) =>
        Assert.Equal(score, new WafRule(1, WafFamily.Sqli, severity, "x").Score);

    [Fact]
    public void RuleIdsAreUniqueAndInTheirFamilyRange()
    {
        Assert.Equal(WafRules.All.Count, WafRules.All.Select(r => r.Id).Distinct().Count());
        foreach (var rule in WafRules.All)
        {
            var prefix = rule.Id / 1000;
            Assert.True(rule.Family switch
            {
                WafFamily.ProtocolEnforcement => prefix is 911 or 920,
                WafFamily.RestrictedFile => rule.Id == 920440,
                WafFamily.PathTraversal => prefix == 930,
                WafFamily.Xss => prefix == 941,
                WafFamily.Sqli => prefix == 942,
                _ => false,
            }, $"rule {rule.Id} is outside the range of {rule.Family}");
            Assert.False(string.IsNullOrWhiteSpace(rule.Description));
            Assert.Same(rule, WafRules.Find(rule.Id));
        }
    }

    [Fact]
    public void EverySignatureUsesACatalogueRuleAndHasATimeout()
    {
        foreach (var signature in WafSignatures.Default)
        {
            Assert.Contains(signature.Rule, WafRules.All);
            Assert.Equal(TimeSpan.FromMilliseconds(WafSignatures.TimeoutMilliseconds), signature.Pattern.MatchTimeout);
        }
    }

    [Fact]
    public void ScoresOfDifferentRulesAddUp()
    {
        // 941180 (warning 3) + 942140 (warning 3): each alone passes, together they reach 6 >= 5.
        AssertScoredNotBlocked(Evaluate(NameArgument("document.cookie")), 941180);
        AssertScoredNotBlocked(Evaluate(NameArgument("information_schema")), 942140);

        var result = Evaluate(RawQuery("a=document.cookie&b=information_schema"));

        Assert.Equal(6, result.Score);
        Assert.Equal([941180, 942140], result.RuleIds);
        Assert.True(result.Blocked);
    }

    [Fact]
    public void ARuleCountsOnceHoweverManyValuesItMatches()
    {
        var result = Evaluate(RawQuery("a=document.cookie&b=document.cookie&c=x.innerHTML"));

        Assert.Equal(3, result.Score);
        Assert.Single(result.Matches);
        Assert.False(result.Blocked);
    }

    [Fact]
    public void TheThresholdIsInclusive()
    {
        Assert.True(With(new WafOptions { InboundThreshold = 3 }, NameArgument("document.cookie")).Blocked);
        Assert.False(With(new WafOptions { InboundThreshold = 4 }, NameArgument("document.cookie")).Blocked);
    }

    [Fact]
    public void AHigherThresholdLetsASingleCriticalThrough()
    {
        var result = With(new WafOptions { InboundThreshold = 10 }, NameArgument("' OR 1=1--"));

        Assert.Contains(942130, result.RuleIds);
        Assert.False(result.ThresholdReached);
        Assert.False(result.Blocked);

        Assert.True(With(new WafOptions { InboundThreshold = 10 }, NameArgument("' OR 1=1; DROP TABLE users--")).Blocked);
    }

    [Fact]
    public void DetectOnlyScoresButNeverBlocks()
    {
        var result = With(new WafOptions { DetectOnly = true }, NameArgument("<script>alert(1)</script>"));

        Assert.Contains(941110, result.RuleIds);
        Assert.True(result.ThresholdReached);
        Assert.False(result.Blocked);
        Assert.True(result.DetectOnly);
    }

    [Fact]
    public void DisabledEngineMatchesNothing()
    {
        var result = With(new WafOptions { Enabled = false }, Request("TRACE", query: "q=<script>"));

        Assert.Empty(result.Matches);
        Assert.False(result.Blocked);
    }

    [Theory]
    [InlineData(942130, "name=%27%20OR%201%3D1--")]
    [InlineData(941110, "name=%3Cscript%3E")]
    [InlineData(930110, "name=..%2Fsecret")]
    [InlineData(920380, "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9")]
    public void DisabledRuleIdsDoNotMatch(int ruleId, string rawQuery)
    {
        var options = new WafOptions { MaxArguments = 8 };
        Assert.Contains(ruleId, With(options, RawQuery(rawQuery)).RuleIds);

        options.DisabledRuleIds = [ruleId];
        Assert.DoesNotContain(ruleId, With(options, RawQuery(rawQuery)).RuleIds);
    }

    [Fact]
    public void DisablingOneRuleLeavesTheOthers()
    {
        var options = new WafOptions { DisabledRuleIds = [911100, 920440] };

        Assert.Empty(With(options, Request("TRACE", path: "/.env")).Matches);
        AssertBlockedBy(With(options, NameArgument("<script>")), 941110);
    }

    [Fact]
    public void AConfiguredMethodListReplacesTheDefault()
    {
        var options = new WafOptions { DisallowedMethods = ["PATCH"] };

        Assert.Contains(911100, With(options, Request("PATCH")).RuleIds);
        Assert.DoesNotContain(911100, With(options, Request("TRACE")).RuleIds);
    }

    [Fact]
    public void TheHeaderAllowListIsConfigurable()
    {
        var request = WithHeader("X-Search", "' OR 1=1--");
        Assert.Contains(942130, Evaluate(request).RuleIds);

        var options = new WafOptions { HeaderAllowList = ["X-Search", "X-Custom-*"] };
        Assert.Empty(With(options, request).Matches);
        Assert.Empty(With(options, WithHeader("x-custom-filter", "<script>")).Matches);

        // The allow-list replaces the default: Authorization is inspected when a configuration leaves it out.
        Assert.Contains(942130, With(options, WithHeader("Authorization", "Bearer ' OR 1=1--")).RuleIds);
    }

    // Catastrophically backtracking patterns and an input built to trigger them (5 ms timeouts). A timed-out match is
    // decided again by the linear (non-backtracking) engine; a pattern that has none (a back-reference) fails closed:
    // counted as matched instead of throwing, which in the middleware would become a 500.
    private static readonly WafRule SlowRule = new(942999, WafFamily.Sqli, WafSeverity.Critical, "test: pathological pattern");

    public static WafSignature SlowSignature(string pattern = "^(a+)+$", WafTargets targets = WafTargets.Args) =>
        new(SlowRule, new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(5)), WafView.Decoded, targets);

    /// <summary>Needs backtracking (\1): no linear twin, so a timeout can only fail closed.</summary>
    public static WafSignature SlowSignatureWithoutLinearTwin() => SlowSignature(@"^(a+)+\1$");

    public static string SlowInput => new string('a', 40) + "!";

    [Fact]
    public void ATimedOutMatchIsDecidedByTheLinearEngine()
    {
        // Harmless for this pattern: the backtracking engine runs out of time, the linear one says "no match".
        var harmless = new WafEngine(new WafOptions(), [.. WafSignatures.Default, SlowSignature()]);
        Assert.NotNull(SlowSignature().Linear);
        var allowed = harmless.Evaluate(RawQuery("name=" + SlowInput));
        Assert.Empty(allowed.Matches);
        Assert.False(allowed.Blocked);

        // A match that only comes after the pathological part: the linear engine still finds it.
        var attack = new WafEngine(new WafOptions(), [SlowSignature("(a+)+b|!")]);
        var match = Assert.Single(attack.Evaluate(RawQuery("name=" + SlowInput)).Matches);
        Assert.Equal(942999, match.Rule.Id);
        Assert.False(match.TimedOut);
    }

    [Fact]
    public void ATimeoutWithoutALinearTwinCountsAsAMatch()
    {
        Assert.Null(SlowSignatureWithoutLinearTwin().Linear);
        var engine = new WafEngine(new WafOptions(), [.. WafSignatures.Default, SlowSignatureWithoutLinearTwin()]);

        var result = engine.Evaluate(RawQuery("name=" + SlowInput));

        var match = Assert.Single(result.Matches);
        Assert.Equal(942999, match.Rule.Id);
        Assert.True(match.TimedOut);
        Assert.True(result.Blocked);
    }

    [Fact]
    public void ATimedOutRuleCanBeDisabledLikeAnyOther()
    {
        var engine = new WafEngine(new WafOptions { DisabledRuleIds = [942999] }, [SlowSignatureWithoutLinearTwin()]);

        Assert.Empty(engine.Evaluate(RawQuery("name=" + SlowInput)).Matches);
    }

    [Fact]
    public void EveryBuiltInPatternButTheBackReferenceHasALinearTwin()
    {
        // The twin must accept the same options; one SQL pattern uses \1 (the tautology "x = x") and fails closed.
        var withoutTwin = WafSignatures.Default.Where(s => s.Linear is null).ToList();
        Assert.All(withoutTwin, s => Assert.Contains(@"\1", s.Pattern.ToString(), StringComparison.Ordinal));
        Assert.True(withoutTwin.Count <= 1, $"{withoutTwin.Count} built-in patterns have no linear twin");
    }

    public static TheoryData<string> AdversarialValues => new(
        string.Concat(Enumerable.Repeat("or/*", 1024)),
        string.Concat(Enumerable.Repeat("'/*", 1365)),
        string.Concat(Enumerable.Repeat("../", 1365)),
        string.Concat(Enumerable.Repeat("union select ", 315)),
        string.Concat(Enumerable.Repeat("' or ", 819)),
        string.Concat(Enumerable.Repeat("'))))", 819)),
        string.Concat(Enumerable.Repeat("j a v a ", 512)),
        string.Concat(Enumerable.Repeat("<svg ", 819)),
        string.Concat(Enumerable.Repeat(" onload", 585)),
        string.Concat(Enumerable.Repeat("%25", 1365)),
        new string('a', 4096),
        new string(' ', 4096));

    // Every built-in pattern stays far below its 100 ms timeout on the largest values the limits let through, in an
    // argument (4096 characters) and in a header (8192): a timeout would block (fail closed) and burn CPU.
    [Theory]
    [MemberData(nameof(AdversarialValues))]
    public void NoBuiltInPatternTimesOutOnMaximumSizeInput(string value)
    {
        var argument = Evaluate(RawQuery("v=" + Uri.EscapeDataString(value)));
        var header = Evaluate(WithHeader("X-Adversarial", value + value));

        Assert.DoesNotContain(argument.Matches, m => m.TimedOut);
        Assert.DoesNotContain(header.Matches, m => m.TimedOut);
    }

    [Fact]
    public void MatchesNameTheTargetButNeverTheValue()
    {
        var result = Evaluate(RawQuery("file=%3Cscript%3Esecret-payload"));

        var match = Assert.Single(result.Matches);
        Assert.Equal("ARGS:file", match.Target);
        Assert.DoesNotContain(result.Matches, m => m.Target.Contains("secret-payload", StringComparison.Ordinal));
    }

    [Fact]
    public void NullPartsOfARequestAreTreatedAsEmpty()
    {
        var result = WafTest.Engine.Evaluate(new WafRequest("GET", null!, null!, null!, "HTTP/1.1"));

        Assert.Equal([920280], result.RuleIds);
    }

    [Fact]
    public void OptionsBindFromTheWafSection()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Waf:Enabled"] = "true",
            ["Waf:DetectOnly"] = "true",
            ["Waf:InboundThreshold"] = "7",
            ["Waf:MaxHeaders"] = "10",
            ["Waf:MaxHeaderNameLength"] = "11",
            ["Waf:MaxHeaderValueLength"] = "12",
            ["Waf:MaxArguments"] = "13",
            ["Waf:MaxArgumentNameLength"] = "14",
            ["Waf:MaxArgumentValueLength"] = "15",
            ["Waf:MaxQueryStringLength"] = "16",
            ["Waf:RestrictedExtensions:0"] = ".foo",
            ["Waf:HeaderAllowList:0"] = "X-Only",
            ["Waf:DisallowedMethods:0"] = "PATCH",
            ["Waf:DisabledRuleIds:0"] = "942130",
            ["Waf:DisabledRuleIds:1"] = "941110",
        });
        builder.AddWaf();
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<WafOptions>>().Value;
        Assert.True(options.DetectOnly);
        Assert.Equal(7, options.InboundThreshold);
        Assert.Equal([10, 11, 12, 13, 14, 15, 16], [options.MaxHeaders, options.MaxHeaderNameLength, options.MaxHeaderValueLength,
            options.MaxArguments, options.MaxArgumentNameLength, options.MaxArgumentValueLength, options.MaxQueryStringLength]);
        Assert.Equal([".foo"], options.RestrictedExtensions!);
        Assert.Equal(["X-Only"], options.HeaderAllowList!);
        Assert.Equal(["PATCH"], options.DisallowedMethods!);
        Assert.Equal([942130, 941110], options.DisabledRuleIds);
        Assert.True(host.Services.GetRequiredService<WafEngineProvider>().Engine.Options.DetectOnly);
    }

    [Fact]
    public void DefaultsApplyWithoutAWafSection()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.AddWaf();
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<WafOptions>>().Value;
        Assert.True(options.Enabled);
        Assert.False(options.DetectOnly);
        Assert.Equal(5, options.InboundThreshold);
        Assert.Null(options.RestrictedExtensions);
        Assert.Empty(options.DisabledRuleIds);
    }

    [Theory]
    [InlineData("Waf:InboundThreshold", "0")]
    [InlineData("Waf:MaxArguments", "-1")]
    [InlineData("Waf:DisabledRuleIds:0", "123456")]
    public void InvalidOptionsFailAtStart(string key, string value)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.AddWaf();
        using var host = builder.Build();

        Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<WafOptions>>().Value);
    }
}
