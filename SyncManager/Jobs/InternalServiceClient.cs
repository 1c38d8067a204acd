using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;

namespace SyncManager.Jobs;

/// <summary>The signing key SyncManager asserts its own identity with when it calls the other services.</summary>
public sealed record ServiceIdentityKey(byte[] Bytes, bool OverMesh = false);

/// <summary>
/// Calls another service's internal endpoint as service <c>syncmanager</c> (signed X-Heady-Identity assertion; mTLS
/// replaces the transport later). No HTTP-level retries: the job engine retries whole attempts with backoff.
/// </summary>
public sealed class InternalServiceClient(HttpClient http, ServiceIdentityKey key, TimeProvider time)
{
    public const string MonorepoClient = "jobs-monorepo-sync";
    public const string HeadyMeClient = "jobs-headyme-sync";

    public async Task<JsonElement> PostAsync(string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = JsonContent.Create(body ?? new { }),
        };
        if (!key.OverMesh)
        {
            // Over the mesh SyncManager's client certificate identifies it; the services ignore service assertions.
            request.Headers.Add(HeadyHeaders.Identity, IdentityAssertion.Create(
                CallerIdentity.ForService(HeadyPolicies.SyncManagerServiceName), key.Bytes, time.GetUtcNow(), TimeSpan.FromSeconds(60)));
        }

        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            var detail = Detail(text);
            var message = $"{request.Method} {http.BaseAddress}{path.TrimStart('/')} answered {(int)response.StatusCode} {response.StatusCode}: {detail}";
            // A request the service refuses as such (unknown id, invalid, not allowed) fails the same way next time.
            throw IsPermanent(response.StatusCode) ? new PermanentJobException(message) : new HttpRequestException(message, null, response.StatusCode);
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static bool IsPermanent(HttpStatusCode status) =>
        (int)status is >= 400 and < 500 && status is not (HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict or HttpStatusCode.TooManyRequests);

    private static string Detail(string text)
    {
        try
        {
            var json = JsonDocument.Parse(text).RootElement;
            if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
            {
                return d.GetString()!;
            }
        }
        catch (JsonException)
        {
        }

        return text.Length > 500 ? text[..500] : text;
    }
}
