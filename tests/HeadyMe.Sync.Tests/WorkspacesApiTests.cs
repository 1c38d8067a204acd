using System.Net;
using System.Text;
using HeadyClouds.Testing;
using Npgsql;

namespace HeadyMe.Sync.Tests;

public sealed class WorkspacesApiTests(HeadyMeFixture fx) : IClassFixture<HeadyMeFixture>
{
    private const string Workspaces = "/api/v1/workspaces";
    private static readonly string[] ReadWrite = ["workspaces:read", "workspaces:write"];

    [Fact]
    public async Task CreateWorkspace()
    {
        var alice = Callers.NewUser(ReadWrite);

        var response = await fx.PostAsync(Workspaces, alice, new { name = "Notes" });

        var workspace = await response.AssertJsonAsync(HttpStatusCode.Created);
        var id = workspace.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/workspaces/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Notes", workspace.GetProperty("name").GetString());
        Assert.Equal(alice.Id(), workspace.GetProperty("ownerId").GetGuid());
        Assert.Equal("owner", workspace.GetProperty("role").GetString());

        var fetched = await (await fx.GetAsync(response.Headers.Location!.OriginalString, alice)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("Notes", fetched.GetProperty("name").GetString());
    }

    [Fact]
    public async Task ListShowsOwnWorkspacesWithRoleOwner()
    {
        var alice = Callers.NewUser(ReadWrite);
        await (await fx.PostAsync(Workspaces, alice, new { name = "Zeta" })).AssertStatusAsync(HttpStatusCode.Created);
        await (await fx.PostAsync(Workspaces, alice, new { name = "Alpha" })).AssertStatusAsync(HttpStatusCode.Created);

        var list = await (await fx.GetAsync(Workspaces, alice)).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal(["Alpha", "Zeta"], list.EnumerateArray().Select(w => w.GetProperty("name").GetString()));
        Assert.All(list.EnumerateArray(), w =>
        {
            Assert.Equal("owner", w.GetProperty("role").GetString());
            Assert.Equal(alice.Id(), w.GetProperty("ownerId").GetGuid());
        });
    }

    [Fact]
    public async Task NameDifferingOnlyInCaseIsAConflict()
    {
        var alice = Callers.NewUser(ReadWrite);
        await (await fx.PostAsync(Workspaces, alice, new { name = "Journal" })).AssertStatusAsync(HttpStatusCode.Created);

        var problem = await (await fx.PostAsync(Workspaces, alice, new { name = "JOURNAL" })).AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal("You already own a workspace named 'JOURNAL' (names are compared without regard to case).", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task DifferentOwnersMayUseTheSameName()
    {
        await (await fx.PostAsync(Workspaces, Callers.NewUser(ReadWrite), new { name = "Shared Name" })).AssertStatusAsync(HttpStatusCode.Created);
        await (await fx.PostAsync(Workspaces, Callers.NewUser(ReadWrite), new { name = "Shared Name" })).AssertStatusAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task AnotherUsersWorkspaceIsInvisible()
    {
        var alice = Callers.NewUser(ReadWrite);
        var mallory = Callers.NewUser(ReadWrite);
        var created = await (await fx.PostAsync(Workspaces, alice, new { name = "Private" })).AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();

        var problem = await (await fx.GetAsync($"{Workspaces}/{id}", mallory)).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Workspace {id} was not found.", problem.GetProperty("detail").GetString());

        var list = await (await fx.GetAsync(Workspaces, mallory)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(list.EnumerateArray(), w => w.GetProperty("id").GetGuid() == id);
    }

    [Fact]
    public async Task UnknownWorkspaceIsNotFound() =>
        await (await fx.GetAsync($"{Workspaces}/{Guid.CreateVersion7()}", Callers.NewUser(ReadWrite))).AssertProblemAsync(HttpStatusCode.NotFound);

    [Fact]
    public async Task CreatingWithoutTheWriteScopeIsForbidden()
    {
        var reader = Callers.NewUser("workspaces:read");

        Assert.Equal(HttpStatusCode.Forbidden, (await fx.PostAsync(Workspaces, reader, new { name = "Nope" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fx.GetAsync(Workspaces, reader)).StatusCode);
    }

    [Fact]
    public async Task ReadingWithoutTheReadScopeIsForbidden() =>
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.GetAsync(Workspaces, Callers.NewUser("workspaces:write"))).StatusCode);

    [Fact]
    public async Task ServiceIdentityIsForbiddenAndNoIdentityUnauthorized()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.GetAsync(Workspaces, Callers.Gateway)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.GetAsync(Workspaces)).StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(" padded")]
    [InlineData("bell\u0007")]
    [InlineData("new\nline")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    public async Task InvalidNamesAreValidationProblemsNamingName(string name) =>
        await (await fx.PostAsync(Workspaces, Callers.NewUser(ReadWrite), new { name })).AssertValidationProblemAsync("name");

    [Fact]
    public async Task NameOf101CharactersIsRefusedAnd100Accepted()
    {
        var alice = Callers.NewUser(ReadWrite);

        await (await fx.PostAsync(Workspaces, alice, new { name = new string('w', 101) })).AssertValidationProblemAsync("name");
        await (await fx.PostAsync(Workspaces, alice, new { name = new string('w', 100) })).AssertStatusAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task MissingNameIsAValidationProblem() =>
        await (await fx.PostAsync(Workspaces, Callers.NewUser(ReadWrite), new { })).AssertValidationProblemAsync("name");

    [Fact]
    public async Task LoneSurrogateIsABadRequestNotAServerError()
    {
        const string body = "{\"name\": \"ws \\udc00\"}";

        var response = await fx.SendAsync(HttpMethod.Post, Workspaces, fx.Assertion(Callers.NewUser(ReadWrite)), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task MalformedJsonIsABadRequestProblem()
    {
        var response = await fx.SendAsync(HttpMethod.Post, Workspaces, fx.Assertion(Callers.NewUser(ReadWrite)), new StringContent("{\"name\":", Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task NfdNameIsStoredAsNfc()
    {
        var alice = Callers.NewUser(ReadWrite);
        const string nfd = "Cafe\u0301 Notes";
        const string nfc = "Caf\u00e9 Notes";

        var created = await (await fx.PostAsync(Workspaces, alice, new { name = nfd })).AssertJsonAsync(HttpStatusCode.Created);

        Assert.Equal(nfc, created.GetProperty("name").GetString());
        await using var db = await fx.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT name, normalized_name FROM workspaces WHERE id = @id", db);
        command.Parameters.AddWithValue("id", created.GetProperty("id").GetGuid());
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(nfc, reader.GetString(0));
            Assert.Equal(nfc.ToUpperInvariant(), reader.GetString(1));
        }

        // The NFC spelling of the same name, in another case, is the same workspace name.
        await (await fx.PostAsync(Workspaces, alice, new { name = "CAF\u00c9 NOTES" })).AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task HealthAndOpenApiNeedNoIdentity()
    {
        var health = await fx.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        var document = await (await fx.GetAsync("/openapi/v1.json")).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(document.TryGetProperty("openapi", out _));
        Assert.Contains(document.GetProperty("paths").EnumerateObject(), p => p.Name.StartsWith("/api/v1/workspaces", StringComparison.Ordinal));
    }
}
