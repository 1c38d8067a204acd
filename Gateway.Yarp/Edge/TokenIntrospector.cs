using System.Net.Http.Json;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Yarp.Edge;

/// <summary>
/// Asks SyncManager whether a bearer token is active, with the answer cached briefly in this replica's memory
/// (<see cref="LocalIntrospectionCache"/>) and in Redis (shared by all replicas).
/// </summary>
public sealed class TokenIntrospector(
    HttpClient http,
    IConnectionMultiplexer redis,
    LocalIntrospectionCache local,
    IOptions<EdgeOptions> options,
    IdentityKey key,
    TimeProvider time,
    ILogger<TokenIntrospector> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<IntrospectionResponse> IntrospectAsync(string token, CancellationToken ct)
    {
        var cacheKey = TokenIntrospection.CacheKey(token);
        if (local.TryGet(cacheKey, out var remembered))
        {
            return remembered;
        }

        var generation = local.Generation;
        var cached = await ReadCacheAsync(cacheKey);
        if (cached is not null)
        {
            local.Set(cacheKey, cached, Ttl(cached), generation);
            return cached;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, TokenIntrospection.Path)
        {
            Content = JsonContent.Create(new IntrospectionRequest(token), options: Json),
        };
        if (!key.OverMesh)
        {
            // Over the mesh the gateway's client certificate identifies it; a service assertion would be ignored.
            request.Headers.Add(HeadyHeaders.Identity, IdentityAssertion.Create(
                CallerIdentity.ForService(HeadyPolicies.GatewayServiceName), key.Bytes, time.GetUtcNow(), TimeSpan.FromSeconds(30)));
        }

        using var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync<IntrospectionResponse>(Json, ct)
            ?? throw new InvalidOperationException("SyncManager returned an empty introspection answer.");

        // A revocation that arrived while SyncManager was being asked may concern this answer: keep it nowhere.
        if (generation == local.Generation)
        {
            await WriteCacheAsync(cacheKey, answer);
            local.Set(cacheKey, answer, Ttl(answer), generation);
        }

        return answer;
    }

    private async Task<IntrospectionResponse?> ReadCacheAsync(string cacheKey)
    {
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(cacheKey);
            return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<IntrospectionResponse>((string)value!, Json);
        }
        catch (Exception e) when (e is RedisException or JsonException)
        {
            // The cache is an optimisation: without it every request is introspected, which is slower but correct.
            logger.LogWarning(e, "Introspection cache read failed; asking SyncManager");
            return null;
        }
    }

    private TimeSpan Ttl(IntrospectionResponse answer)
    {
        var ttl = TimeSpan.FromSeconds(answer.Active ? options.Value.ActiveTokenCacheSeconds : options.Value.InactiveTokenCacheSeconds);
        if (answer.ExpiresAt is { } expires && expires - time.GetUtcNow() < ttl)
        {
            ttl = expires - time.GetUtcNow();
        }

        return ttl;
    }

    private async Task WriteCacheAsync(string cacheKey, IntrospectionResponse answer)
    {
        var ttl = Ttl(answer);
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await redis.GetDatabase().StringSetAsync(cacheKey, JsonSerializer.Serialize(answer, Json), ttl);
        }
        catch (RedisException e)
        {
            logger.LogWarning(e, "Introspection cache write failed");
        }
    }
}

/// <summary>The identity-assertion signing key, read once at start.</summary>
public sealed record IdentityKey(byte[] Bytes, bool OverMesh = false);
