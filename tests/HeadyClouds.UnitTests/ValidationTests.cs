using HeadyClouds.ServiceDefaults;

namespace HeadyClouds.UnitTests;

public sealed class ValidationTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("Alice Example")]
    [InlineData("x")]
    [InlineData("Café")] // NFC
    [InlineData("日本語のワークスペース")]
    [InlineData("emoji 😀 inside")] // a valid surrogate pair
    [InlineData("tab-free\u00A0nbsp-inside")]
    public void CleanTextIsAccepted(string value) => Assert.True(Validation.IsCleanText(value));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("\tleading-tab")]
    [InlineData("trailing-newline\n")]
    [InlineData("inner\nnewline")]
    [InlineData("inner\ttab")]
    [InlineData("bell\u0007")]
    [InlineData("nul\0inside")]
    [InlineData("del\u007Finside")]
    [InlineData("c1\u0085control")]
    [InlineData("\u00A0nbsp-leading")]
    [InlineData("trailing-ideographic-space\u3000")]
    public void ControlCharactersAndSurroundingSpacesAreRefused(string? value) => Assert.False(Validation.IsCleanText(value));

    /// <summary>Built in code, not in [InlineData]: the runner would serialize a lone surrogate to U+FFFD.</summary>
    private static readonly string[] InvalidUtf16 =
    [
        "lone-high-\uD800",
        "\uD800",
        "lone-low-\uDC00-inside",
        "\uDC00\uD800", // a reversed pair
        "high-high-\uD83D\uD83D",
    ];

    [Fact]
    public void LoneSurrogatesAreRefusedWithoutThrowing()
    {
        foreach (var value in InvalidUtf16)
        {
            // Documented as "false for invalid UTF-16": it must answer, not throw (a throw is a 500 for the client).
            var thrown = Record.Exception(() => Validation.IsCleanText(value));
            Assert.True(thrown is null, $"IsCleanText threw for {Escape(value)}: {thrown}");
            Assert.False(Validation.IsCleanText(value), $"IsCleanText accepted {Escape(value)}");
        }
    }

    [Fact]
    public void NonNfcTextIsRefused()
    {
        var nfd = "Cafe\u0301"; // e + combining acute accent
        Assert.False(nfd.IsNormalized());
        Assert.False(Validation.IsCleanText(nfd));
        Assert.True(Validation.IsCleanText(nfd.Normalize()));
    }

    [Fact]
    public void ErrorsAreCollectedPerField()
    {
        var v = new Validation()
            .Require(true, "ok", "never")
            .Require(false, "name", "first")
            .Add("name", "second")
            .Require(false, "role", "third");

        Assert.False(v.IsValid);
        Assert.Equal(["first", "second"], v.Errors["name"]);
        Assert.Equal(["third"], v.Errors["role"]);
        Assert.False(v.Errors.ContainsKey("ok"));
    }

    [Fact]
    public void FieldNamesAreCaseSensitive()
    {
        var v = new Validation().Add("name", "a").Add("Name", "b");
        Assert.Equal(2, v.Errors.Count);
    }

    [Fact]
    public void EmptyValidationIsValid()
    {
        var v = new Validation();
        Assert.True(v.IsValid);
        Assert.Empty(v.Errors);
    }

    private static string Escape(string value) => string.Concat(value.Select(c => c < 128 ? c.ToString() : $"\\u{(int)c:X4}"));
}
