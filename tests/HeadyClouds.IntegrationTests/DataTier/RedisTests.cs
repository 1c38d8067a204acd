using HeadyClouds.Testing;
using StackExchange.Redis;

namespace HeadyClouds.IntegrationTests.DataTier;

/// <summary>Proves HEADY_TEST_REDIS is a real Redis server that requires its password.</summary>
public sealed class RedisTests
{
    [Fact]
    public async Task RoundTrip()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var db = redis.GetDatabase();
        var key = "heady:test:" + Guid.NewGuid().ToString("N");

        Assert.True(await db.StringSetAsync(key, "héllo wörld", TimeSpan.FromMinutes(1)));
        Assert.Equal("héllo wörld", (string?)await db.StringGetAsync(key));
        var ttl = await db.KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.Equal(3, await db.StringIncrementAsync(key + ":n", 3));
        Assert.Equal(2, await db.KeyDeleteAsync([key, key + ":n"]));
        Assert.False(await db.KeyExistsAsync(key));

        // A real server answers PING and reports its version.
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        Assert.True((await server.PingAsync()) < TimeSpan.FromSeconds(5));
        Assert.True(server.Version.Major >= 5, $"Redis {server.Version}");
    }

    [Fact]
    public async Task WrongPasswordCannotConnect()
    {
        var options = ConfigurationOptions.Parse(TestServers.Redis);
        Assert.False(string.IsNullOrEmpty(options.Password), "HEADY_TEST_REDIS should carry a password: the test server must require one");
        options.Password = "wrong-" + Guid.NewGuid().ToString("N");
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 1;
        options.ConnectTimeout = 5000;

        await Assert.ThrowsAsync<RedisConnectionException>(async () => await ConnectionMultiplexer.ConnectAsync(options));
    }

    [Fact]
    public async Task NoPasswordCannotConnect()
    {
        var options = ConfigurationOptions.Parse(TestServers.Redis);
        options.Password = null;
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 1;
        options.ConnectTimeout = 5000;

        await Assert.ThrowsAnyAsync<RedisException>(async () =>
        {
            await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
            // Should the handshake not fail on its own, the first command must.
            await redis.GetDatabase().StringGetAsync("heady:test:anonymous");
        });
    }
}
