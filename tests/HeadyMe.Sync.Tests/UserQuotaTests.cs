using System.Net;
using System.Text;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using static HeadyMe.Sync.Tests.HeadyMeFixture;

namespace HeadyMe.Sync.Tests;

/// <summary>Admin overrides of the 100 KiB default quota of <see cref="SmallQuotaFixture"/>.</summary>
public sealed class UserQuotaTests(SmallQuotaFixture fx) : IClassFixture<SmallQuotaFixture>
{
    private const long KiB = 1024;

    private static string Admin(Guid userId) => $"/api/v1/admin/quotas/{userId}";

    private async Task<UserQuotaResponse> SetAsync(CallerIdentity user, long limitBytes) =>
        (await (await fx.SendAsync(HttpMethod.Put, Admin(user.Id()), Callers.Admin(), new { limitBytes })).AssertJsonAsync(HttpStatusCode.OK))
        .Deserialize<UserQuotaResponse>(Json)!;

    private static byte[] Content(long size, byte seed)
    {
        var content = new byte[size];
        content[0] = seed; // distinct chunks per file
        return content;
    }

    [Fact]
    public async Task ALoweredQuotaRefusesEveryKindOfWriteWithTheOverrideAsTheLimit()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        await fx.PutFileAsync(ws, alice, "first.bin", Content(30 * KiB, 1));

        Assert.Equal(new UserQuotaResponse(alice.Id(), 40 * KiB, 30 * KiB, false), await SetAsync(alice, 40 * KiB));
        Assert.Equal(new QuotaResponse(40 * KiB, 30 * KiB), await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", alice));

        // 50 KiB fits the default of 100 KiB but not the override: single commit and batch commit.
        var second = Content(20 * KiB, 2);
        await fx.UploadAsync(ws, alice, Split(second));
        var problem = await (await fx.CommitAsync(ws, alice, FileRequest("second.bin", second, null))).AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal(40 * KiB, problem.GetProperty("limitBytes").GetInt64());
        Assert.Equal(30 * KiB, problem.GetProperty("usedBytes").GetInt64());
        Assert.Contains($"quota of {40 * KiB} bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        problem = await (await fx.PostAsync($"{Ws(ws)}/files/commit", alice, new CommitBatchRequest([FileRequest("second.bin", second, null)])))
            .AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal(40 * KiB, problem.GetProperty("limitBytes").GetInt64());

        // At the limit: uploads are refused early.
        await SetAsync(alice, 30 * KiB);
        var upload = await fx.SendAsync(HttpMethod.Post, $"{Ws(ws)}/chunks", fx.Assertion(alice), Pack([Content(1 * KiB, 3)]));
        Assert.Equal(30 * KiB, (await upload.AssertProblemAsync(HttpStatusCode.InsufficientStorage)).GetProperty("limitBytes").GetInt64());

        // Operations: taking a file out of the trash counts again.
        var first = await fx.GetJsonAsync<FileDetails>($"{Ws(ws)}/files/info?path=first.bin", alice);
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/files?path=first.bin&baseVersionId={first.Version.Id}", alice)).AssertStatusAsync(HttpStatusCode.NoContent);
        await SetAsync(alice, 10 * KiB);
        problem = await (await fx.PostAsync($"{Ws(ws)}/trash/restore", alice, new { path = "first.bin" })).AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal(10 * KiB, problem.GetProperty("limitBytes").GetInt64());
    }

    [Fact]
    public async Task ARaisedQuotaAllowsWhatTheDefaultRefusesAndDeleteRestoresTheDefault()
    {
        var bob = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(bob);
        var big = Content(150 * KiB, 4);
        await fx.UploadAsync(ws, bob, Split(big));
        await (await fx.CommitAsync(ws, bob, FileRequest("big.bin", big, null))).AssertProblemAsync(HttpStatusCode.InsufficientStorage);

        await SetAsync(bob, 300 * KiB);
        await (await fx.CommitAsync(ws, bob, FileRequest("big.bin", big, null))).AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal(new QuotaResponse(300 * KiB, 150 * KiB), await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", bob));

        await (await fx.SendAsync(HttpMethod.Delete, Admin(bob.Id()), Callers.Admin())).AssertStatusAsync(HttpStatusCode.NoContent);
        Assert.Equal(new UserQuotaResponse(bob.Id(), SmallQuotaFixture.Quota, 150 * KiB, true), await fx.GetJsonAsync<UserQuotaResponse>(Admin(bob.Id()), Callers.Admin()));
        Assert.Equal(new QuotaResponse(SmallQuotaFixture.Quota, 150 * KiB), await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", bob));
        // A copy needs no upload (its chunks are there) but would add 150 KiB to a user already over the default.
        var problem = await (await fx.CommitAsync(ws, bob, FileRequest("copy.bin", big, null))).AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal(SmallQuotaFixture.Quota, problem.GetProperty("limitBytes").GetInt64());

        // Deleting again is idempotent: there is no override, the default applies.
        await (await fx.SendAsync(HttpMethod.Delete, Admin(bob.Id()), Callers.Admin())).AssertStatusAsync(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task AUserOverQuotaCanStillReadAndDelete()
    {
        var carol = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(carol);
        var content = Content(50 * KiB, 6);
        var v1 = await fx.PutFileAsync(ws, carol, "kept.bin", content);

        Assert.Equal(new UserQuotaResponse(carol.Id(), 0, 50 * KiB, false), await SetAsync(carol, 0));
        // Nothing new is accepted: neither chunks nor a copy of what is already stored.
        var upload = await fx.SendAsync(HttpMethod.Post, $"{Ws(ws)}/chunks", fx.Assertion(carol), Pack([Encoding.UTF8.GetBytes("one more")]));
        await upload.AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        await (await fx.CommitAsync(ws, carol, FileRequest("copy.bin", content, null))).AssertProblemAsync(HttpStatusCode.InsufficientStorage);

        Assert.Equal(content, await fx.DownloadAsync(ws, carol, "kept.bin"));
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/files?path=kept.bin&baseVersionId={v1.Id}", carol)).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await fx.SendAsync(HttpMethod.Delete, $"{Ws(ws)}/trash?path=kept.bin", carol)).AssertStatusAsync(HttpStatusCode.NoContent);
        Assert.Equal(new QuotaResponse(0, 0), await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", carol));
    }

    [Fact]
    public async Task AUserWithoutAnOverrideHasTheDefault()
    {
        var dave = Guid.CreateVersion7();
        Assert.Equal(new UserQuotaResponse(dave, SmallQuotaFixture.Quota, 0, true), await fx.GetJsonAsync<UserQuotaResponse>(Admin(dave), Callers.Admin()));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task OnlyAdminsReachTheAdminEndpoints(string method)
    {
        var target = Callers.NewUser(ReadWrite);
        await SetAsync(target, 7 * KiB);

        // A user whose token has every scope is still not an admin; neither for themselves nor for anyone else.
        var user = Callers.NewUser(Callers.AllScopes);
        foreach (var id in new[] { target.Id(), user.Id() })
        {
            var response = await fx.SendAsync(new HttpMethod(method), Admin(id), user, method == "PUT" ? new { limitBytes = 1L << 40 } : null);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Equal(new QuotaResponse(7 * KiB, 0), await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", target));
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.SendAsync(new HttpMethod(method), Admin(target.Id()))).StatusCode);
    }

    [Theory]
    [InlineData("""{"limitBytes":-1}""")]
    [InlineData("""{}""")]
    [InlineData("""{"limitBytes":null}""")]
    public async Task AnInvalidLimitIsAValidationProblem(string body)
    {
        var user = Guid.CreateVersion7();
        var response = await fx.SendAsync(HttpMethod.Put, Admin(user), fx.Assertion(Callers.Admin()), new StringContent(body, Encoding.UTF8, "application/json"));
        await response.AssertValidationProblemAsync("limitBytes");
        Assert.True((await fx.GetJsonAsync<UserQuotaResponse>(Admin(user), Callers.Admin())).IsDefault);
    }

    [Theory]
    [InlineData("""{"limitBytes":"lots"}""")]
    [InlineData("""{"limitBytes":1.5}""")]
    [InlineData("not json")]
    public async Task AMalformedBodyIsABadRequestProblem(string body)
    {
        var response = await fx.SendAsync(HttpMethod.Put, Admin(Guid.CreateVersion7()), fx.Assertion(Callers.Admin()), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Contains("not valid JSON", (await response.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
