using System.Net;
using System.Text;
using System.Text.Json;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using static HeadyMe.Sync.Tests.HeadyMeFixture;

namespace HeadyMe.Sync.Tests;

/// <summary>A user quota of 100 KiB.</summary>
public sealed class SmallQuotaFixture : HeadyMeFixture
{
    public const long Quota = 100 * 1024;

    protected override IEnumerable<KeyValuePair<string, string>> Settings => [new("HeadyMe:QuotaBytes", Quota.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}

/// <summary>Redis points at a port nothing listens on: notifications are down, the database is not.</summary>
public sealed class RedisDownFixture : HeadyMeFixture
{
    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("ConnectionStrings:redis", "127.0.0.1:1,abortConnect=false,connectTimeout=200"),
        new("HeadyMe:PollFallbackInterval", "00:00:00.200"),
    ];
}

public sealed class QuotaTests(SmallQuotaFixture fx) : IClassFixture<SmallQuotaFixture>
{
    [Fact]
    public async Task WritesPastTheQuotaAre507AndUsageIsVisible()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var first = new byte[60 * 1024];
        await fx.PutFileAsync(ws, alice, "first.bin", first);

        var quota = await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", alice);
        Assert.Equal(new QuotaResponse(SmallQuotaFixture.Quota, first.Length), quota);

        var second = new byte[50 * 1024];
        second[0] = 1;
        await fx.UploadAsync(ws, alice, Split(second));
        var cursor = await fx.CursorAsync(ws, alice);
        var problem = await (await fx.CommitAsync(ws, alice, FileRequest("second.bin", second, null))).AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal(SmallQuotaFixture.Quota, problem.GetProperty("limitBytes").GetInt64());
        await (await fx.PostAsync($"{Ws(ws)}/files/commit", alice, new CommitBatchRequest([FileRequest("second.bin", second, null)])))
            .AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal(cursor, await fx.CursorAsync(ws, alice));

        // Replacing a file only counts the difference; deleting frees its bytes.
        var v1 = await fx.GetJsonAsync<FileDetails>($"{Ws(ws)}/files/info?path=first.bin", alice);
        var smaller = new byte[10 * 1024];
        await fx.PutFileAsync(ws, alice, "first.bin", smaller, v1.Version.Id);
        await (await fx.CommitAsync(ws, alice, FileRequest("second.bin", second, null))).AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal(smaller.Length + second.Length, (await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", alice)).UsedBytes);
    }

    [Fact]
    public async Task ANewUserHasTheFullQuota() =>
        Assert.Equal(new QuotaResponse(SmallQuotaFixture.Quota, 0), await fx.GetJsonAsync<QuotaResponse>("/api/v1/quota", Callers.NewUser(ReadWrite)));
}

public sealed class RedisDownTests(RedisDownFixture fx) : IClassFixture<RedisDownFixture>
{
    [Fact]
    public async Task LongPollStillWakesByPollingTheDatabase()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        await fx.PutFileAsync(ws, alice, "elsewhere.txt", Encoding.UTF8.GetBytes("written by another replica"));
        var cursor = await fx.CursorAsync(ws, alice);

        var poll = fx.GetAsync($"{Ws(ws)}/changes/poll?cursor={cursor}&timeout=60", alice);
        // What another replica's commit leaves in the database; its Redis announcement is lost, and this
        // process is not told directly either.
        await using (var db = await fx.OpenConnectionAsync())
        {
            await using var command = new Npgsql.NpgsqlCommand(
                """
                WITH s AS (UPDATE workspaces SET change_seq = change_seq + 1 WHERE id = @w RETURNING change_seq)
                UPDATE file_entries SET seq = (SELECT change_seq FROM s) WHERE workspace_id = @w
                """, db);
            command.Parameters.AddWithValue("w", ws);
            await command.ExecuteNonQueryAsync();
        }

        var changes = (await (await poll).AssertJsonAsync(HttpStatusCode.OK)).Deserialize<ChangesResponse>(Json)!;
        Assert.Equal("elsewhere.txt", Assert.Single(changes.Changes).Path);
    }

    [Fact]
    public async Task CommitsAndReadsWorkWithoutRedis()
    {
        var alice = Callers.NewUser(ReadWrite);
        var ws = await fx.CreateWorkspaceAsync(alice);
        var content = Encoding.UTF8.GetBytes("no redis needed");

        await fx.PutFileAsync(ws, alice, "a.txt", content);

        Assert.Equal(content, await fx.DownloadAsync(ws, alice, "a.txt"));
        // Readiness does not depend on Redis either.
        Assert.Equal(HttpStatusCode.OK, (await fx.GetAsync("/health")).StatusCode);
    }
}
