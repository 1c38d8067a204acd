using System.Net;
using System.Text.Json;
using HeadyClouds.IntegrationTests.SyncManager;
using HeadyClouds.Testing;

namespace HeadyClouds.IntegrationTests.Audit;

/// <summary>Reads SyncManager's platform audit log, which services feed from a background queue.</summary>
public static class PlatformAudit
{
    /// <summary>The entries of a type and subject right now.</summary>
    public static async Task<List<JsonElement>> NowAsync(SyncManagerFixture syncManager, string eventType, string subject)
    {
        var response = await syncManager.GetAsync($"/api/v1/audit?eventType={eventType}&subject={Uri.EscapeDataString(subject)}", Callers.Admin());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>
    /// The entries once at least <paramref name="atLeast"/> have arrived (bounded wait: correctness, not speed, is
    /// asserted), then after <paramref name="settle"/> a second look, long enough for a wrong extra entry to show up.
    /// </summary>
    public static async Task<List<JsonElement>> EventuallyAsync(
        SyncManagerFixture syncManager, string eventType, string subject, int atLeast = 1, TimeSpan? settle = null)
    {
        for (var i = 0; i < 100 && (await NowAsync(syncManager, eventType, subject)).Count < atLeast; i++)
        {
            await Task.Delay(100);
        }

        if (settle is { } wait)
        {
            await Task.Delay(wait);
        }

        return await NowAsync(syncManager, eventType, subject);
    }
}
