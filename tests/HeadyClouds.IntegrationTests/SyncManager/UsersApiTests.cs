using System.Net;
using System.Net.Http.Json;
using System.Text;
using HeadyClouds.Testing;
using HeadyClouds.ServiceDefaults.Identity;

namespace HeadyClouds.IntegrationTests.SyncManager;

public sealed class UsersApiTests(SyncManagerFixture fx) : IClassFixture<SyncManagerFixture>
{
    private const string Users = "/api/v1/users";

    [Fact]
    public async Task AdminCreatesUser()
    {
        var username = "alice-" + Callers.Unique();

        var response = await fx.PostAsync(Users, Callers.Admin(), new { username, displayName = "Alice Example" });

        var user = await response.AssertJsonAsync(HttpStatusCode.Created);
        var id = user.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/users/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(username, user.GetProperty("username").GetString());
        Assert.Equal("Alice Example", user.GetProperty("displayName").GetString());
        Assert.Equal("user", user.GetProperty("role").GetString());

        // The row is really there, and the Location answers.
        await using var db = await fx.OpenConnectionAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT username, role FROM users WHERE id = @id", db);
        command.Parameters.AddWithValue("id", id);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(username, reader.GetString(0));
            Assert.Equal("user", reader.GetString(1));
        }

        var fetched = await (await fx.GetAsync(response.Headers.Location!.OriginalString, Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(username, fetched.GetProperty("username").GetString());
    }

    [Fact]
    public async Task AdminCreatesAnotherAdmin()
    {
        var response = await fx.PostAsync(Users, Callers.Admin(), new { username = "ops-" + Callers.Unique(), role = "admin" });

        var user = await response.AssertJsonAsync(HttpStatusCode.Created);
        Assert.Equal("admin", user.GetProperty("role").GetString());
    }

    [Fact]
    public async Task DuplicateUsernameIsAConflictThatSaysWhich()
    {
        var username = "dup-" + Callers.Unique();
        await (await fx.PostAsync(Users, Callers.Admin(), new { username })).AssertStatusAsync(HttpStatusCode.Created);

        var response = await fx.PostAsync(Users, Callers.Admin(), new { username, displayName = "Second" });

        var problem = await response.AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal($"A user named '{username}' already exists.", problem.GetProperty("detail").GetString());
        Assert.Equal("Conflict", problem.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ab")]
    [InlineData("Alice")]
    [InlineData("al ice")]
    [InlineData("alice\n")]
    [InlineData("-alice")]
    public async Task InvalidUsernameIsAValidationProblemNamingUsername(string username)
    {
        var response = await fx.PostAsync(Users, Callers.Admin(), new { username });

        await response.AssertValidationProblemAsync("username");
    }

    [Fact]
    public async Task MissingUsernameIsAValidationProblemNamingUsername()
    {
        var response = await fx.PostAsync(Users, Callers.Admin(), new { displayName = "No Name" });

        await response.AssertValidationProblemAsync("username");
    }

    [Fact]
    public async Task EveryInvalidFieldIsNamed()
    {
        var response = await fx.PostAsync(Users, Callers.Admin(), new { username = "X", displayName = " padded", role = "root" });

        await response.AssertValidationProblemAsync("username", "displayName", "role");
    }

    [Fact]
    public async Task NonAdminCannotCreateUsers()
    {
        var response = await fx.PostAsync(Users, Callers.NewUser(Callers.AllScopes), new { username = "sneaky-" + Callers.Unique() });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task ServiceIdentityIsNoUser()
    {
        var response = await fx.PostAsync(Users, Callers.Gateway, new { username = "svc-" + Callers.Unique() });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task NoIdentityIsUnauthorized()
    {
        var response = await fx.PostAsync(Users, caller: null, new { username = "anon-" + Callers.Unique() });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task IdentitySignedWithAnotherKeyIsUnauthorized()
    {
        var otherKey = Encoding.UTF8.GetBytes("a-different-signing-key-of-enough-length-0123");
        var assertion = fx.Assertion(Callers.Admin(), key: otherKey);

        var response = await fx.SendAsync(HttpMethod.Post, Users, assertion, JsonContent.Create(new { username = "forged-" + Callers.Unique() }));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ExpiredIdentityIsUnauthorized()
    {
        var assertion = fx.Assertion(Callers.Admin(), lifetime: TimeSpan.FromMinutes(1), now: DateTimeOffset.UtcNow.AddMinutes(-5));

        var response = await fx.SendAsync(HttpMethod.Get, Users, assertion, null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("eyJraW5kIjoidXNlciJ9.")]
    public async Task MalformedIdentityIsUnauthorized(string assertion)
    {
        var response = await fx.SendAsync(HttpMethod.Get, Users, assertion, null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TwoIdentityHeadersAreUnauthorized()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Users);
        request.Headers.TryAddWithoutValidation(HeadyHeaders.Identity, [fx.Assertion(Callers.Admin()), fx.Assertion(Callers.Admin())]);

        var response = await fx.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"username\": ")]
    [InlineData("{\"username\": \"x\",}")]
    [InlineData("not json")]
    [InlineData("{\"username\": 42}")]
    public async Task MalformedJsonIsABadRequestProblemNotAServerError(string body)
    {
        var response = await fx.SendAsync(HttpMethod.Post, Users, fx.Assertion(Callers.Admin()), new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoneSurrogateInJsonIsABadRequestNotAServerError()
    {
        // JSON may escape a lone surrogate; it must never reach the normalization code as a 500.
        const string body = "{\"username\": \"surrogate-user\", \"displayName\": \"bad \\ud800 name\"}";

        var response = await fx.SendAsync(HttpMethod.Post, Users, fx.Assertion(Callers.Admin()), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task UserSeesThemselvesButNotOthers()
    {
        var alice = await fx.CreateUserAsync(["tokens:manage"]);
        var bob = await fx.CreateUserAsync(["tokens:manage"]);

        var me = await (await fx.GetAsync("/api/v1/users/me", alice)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(alice.Name, me.GetProperty("username").GetString());
        await (await fx.GetAsync($"/api/v1/users/{alice.Id()}", alice)).AssertStatusAsync(HttpStatusCode.OK);

        var problem = await (await fx.GetAsync($"/api/v1/users/{bob.Id()}", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"User {bob.Id()} was not found.", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.GetAsync(Users, alice)).StatusCode);
    }

    [Fact]
    public async Task AdminListsUsersInPages()
    {
        var prefix = "page-" + Callers.Unique();
        foreach (var n in new[] { "a", "b", "c" })
        {
            await (await fx.PostAsync(Users, Callers.Admin(), new { username = $"{prefix}-{n}" })).AssertStatusAsync(HttpStatusCode.Created);
        }

        var page = await (await fx.GetAsync($"{Users}?limit=2&after={prefix}", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal([$"{prefix}-a", $"{prefix}-b"], page.EnumerateArray().Select(u => u.GetProperty("username").GetString()));
    }

    [Fact]
    public async Task MeForAUserWithoutARowIsNotFound()
    {
        var ghost = Callers.NewUser();

        var problem = await (await fx.GetAsync("/api/v1/users/me", ghost)).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("The calling user no longer exists.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task HealthAndOpenApiNeedNoIdentity()
    {
        var health = await fx.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        var openApi = await fx.GetAsync("/openapi/v1.json");
        var document = await openApi.AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(document.TryGetProperty("openapi", out _));
        Assert.Contains(document.GetProperty("paths").EnumerateObject(), p => p.Name.StartsWith("/api/v1/users", StringComparison.Ordinal));
        Assert.Contains(document.GetProperty("paths").EnumerateObject(), p => p.Name.StartsWith("/api/v1/tokens", StringComparison.Ordinal));
    }
}
