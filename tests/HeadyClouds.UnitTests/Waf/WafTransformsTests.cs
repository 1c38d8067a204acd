using Gateway.Yarp.Waf;

namespace HeadyClouds.UnitTests.Waf;

/// <summary>The CRS-style transformations the signatures rely on.</summary>
public sealed class WafTransformsTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a%20b", "a b")]
    [InlineData("a+b", "a b")]
    [InlineData("%E6%97%A5%E6%9C%AC", "日本")]
    [InlineData("%F0%9F%8E%89", "🎉")]
    [InlineData("%u002e%u002E", "..")]
    [InlineData("%zz%4", "%zz%4")]
    [InlineData("100%", "100%")]
    [InlineData("%c0%ae", "\uFFFD\uFFFD")]
    public void UrlDecodeUniDecodesOnce(string input, string expected) => Assert.Equal(expected, WafTransforms.UrlDecodeUni(input, plusIsSpace: true));

    [Fact]
    public void PlusIsLiteralOutsideQueryStrings() => Assert.Equal("a+b", WafTransforms.UrlDecodeUni("a+b", plusIsSpace: false));

    [Fact]
    public void NothingToDecodeReturnsTheSameInstance()
    {
        const string value = "nothing-to-decode";
        Assert.Same(value, WafTransforms.UrlDecodeUni(value, plusIsSpace: true));
    }

    [Theory]
    [InlineData("%252e%252e", "..")]
    [InlineData("%25252e", ".")]
    [InlineData("%2525252e", ".")]
    [InlineData("%252525252e", "%2e")]
    public void RepeatedDecodingIsBounded(string input, string expected) =>
        Assert.Equal(expected, WafTransforms.UrlDecodeRepeated(input, plusIsSpace: false));

    [Fact]
    public void ALoneSurrogateDoesNotThrow()
    {
        var decoded = WafTransforms.UrlDecodeRepeated("%uD800x%uDFFF", plusIsSpace: false);
        Assert.Equal("\uD800x\uDFFF", decoded);
        Assert.Equal("\uD800x\uDFFF", WafTransforms.Normalize(decoded + "é").TrimEnd('é'));
    }

    [Theory]
    [InlineData("<SCRIPT>", "<script>")]
    [InlineData("a\t\r\n  b", "a b")]
    [InlineData("  padded  ", "padded")]
    [InlineData("nul\0byte", "nulbyte")]
    [InlineData("&lt;script&gt;", "<script>")]
    [InlineData("&#106;ava", "java")]
    [InlineData("ｆｕｌｌ　ｗｉｄｔｈ", "full width")]
    [InlineData("．．／", "../")]
    [InlineData("a\u00a0b", "a b")]
    [InlineData("a\uFFFDb", "a b")]
    [InlineData("Ünïcödé", "ünïcödé")]
    public void NormalizeAppliesTheCrsTransformations(string input, string expected) => Assert.Equal(expected, WafTransforms.Normalize(input));

    [Theory]
    [InlineData("union/**/select", "union select")]
    [InlineData("union/*comment*/select/*x*/1", "union select 1")]
    [InlineData("/*!50000union*/ /*!select*/", "union select")]
    [InlineData("1 /* unterminated", "1")]
    [InlineData("no comments here", "no comments here")]
    [InlineData("src/**/*.cs", "src *.cs")]
    public void SqlCommentsBecomeSpaces(string input, string expected) => Assert.Equal(expected, WafTransforms.ReplaceSqlComments(input));
}
