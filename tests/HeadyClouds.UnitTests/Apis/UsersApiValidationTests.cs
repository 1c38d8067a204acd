using SyncManager.Apis;

namespace HeadyClouds.UnitTests.Apis;

public sealed class UsersApiValidationTests
{
    [Theory]
    [InlineData("alice", null, null)]
    [InlineData("bob", "Bob Example", "user")]
    [InlineData("root.admin", "Administrator", "admin")]
    [InlineData("a_b-c.d", "Ünïcödé Näme", null)]
    [InlineData("0day", null, "user")]
    [InlineData("abc", null, null)]
    public void GoodRequestsAreValid(string username, string? displayName, string? role)
    {
        var v = UsersApi.Validate(new CreateUserRequest(username, displayName, role));
        Assert.True(v.IsValid, string.Join("; ", v.Errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}"))));
    }

    [Fact]
    public void UsernameOf64CharactersIsValidAnd65IsNot()
    {
        Assert.True(UsersApi.Validate(new CreateUserRequest(new string('a', 64), null, null)).IsValid);
        AssertOnlyField("username", new CreateUserRequest(new string('a', 65), null, null));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ab")] // too short
    [InlineData("Alice")] // upper case
    [InlineData("_alice")]
    [InlineData(".alice")]
    [InlineData("-alice")]
    [InlineData("al ice")]
    [InlineData("alice@example.com")]
    [InlineData("alice/bob")]
    [InlineData("älice")]
    [InlineData(" alice")]
    [InlineData("alice ")]
    [InlineData("alice\n")] // a trailing newline must not slip through a '$' anchor
    [InlineData("alice\r\n")]
    [InlineData("\nalice")]
    public void BadUsernamesAreNamed(string? username) => AssertOnlyField("username", new CreateUserRequest(username, null, null));

    [Theory]
    [InlineData("")]
    [InlineData(" padded")]
    [InlineData("padded ")]
    [InlineData("line\nbreak")]
    [InlineData("Cafe\u0301")] // not NFC
    public void BadDisplayNamesAreNamed(string displayName) => AssertOnlyField("displayName", new CreateUserRequest("alice", displayName, null));

    [Fact]
    public void DisplayNameOf200CharactersIsValidAnd201IsNot()
    {
        Assert.True(UsersApi.Validate(new CreateUserRequest("alice", new string('d', 200), null)).IsValid);
        AssertOnlyField("displayName", new CreateUserRequest("alice", new string('d', 201), null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Admin")]
    [InlineData("superuser")]
    [InlineData("admin ")]
    public void UnknownRolesAreNamed(string role)
    {
        var errors = AssertOnlyField("role", new CreateUserRequest("alice", null, role));
        Assert.Contains("admin, user", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void EveryBadFieldIsNamedAtOnce()
    {
        var v = UsersApi.Validate(new CreateUserRequest("A", " x", "root"));

        Assert.False(v.IsValid);
        Assert.Equal(["displayName", "role", "username"], v.Errors.Keys.Order(StringComparer.Ordinal));
    }

    private static string[] AssertOnlyField(string field, CreateUserRequest request)
    {
        var v = UsersApi.Validate(request);
        Assert.False(v.IsValid);
        Assert.Equal([field], v.Errors.Keys);
        Assert.NotEmpty(v.Errors[field]);
        return v.Errors[field];
    }
}
