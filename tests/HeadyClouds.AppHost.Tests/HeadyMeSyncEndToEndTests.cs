using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace HeadyClouds.AppHost.Tests;

/// <summary>Workspace sync as two devices meet it: through the gateway, with a real token, Redis, PostgreSQL and S3.</summary>
[Collection(StackCollection.Name)]
public sealed class HeadyMeSyncEndToEndTests(StackFixture stack)
{
    private static string Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>The chunk-pack wire format (docs/headyme-sync.md), written here so this project needs no Sync.Core.</summary>
    private static ByteArrayContent Pack(params byte[][] chunks)
    {
        using var body = new MemoryStream();
        foreach (var chunk in chunks)
        {
            body.Write(SHA256.HashData(chunk));
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)chunk.Length);
            body.Write(length);
            body.Write(chunk);
        }

        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.heady.chunkpack");
        return content;
    }

    [Fact]
    public async Task Device_A_uploads_and_device_B_is_woken_by_its_long_poll_and_downloads_identical_bytes()
    {
        using var admin = stack.Gateway(stack.AdminToken);
        var user = await (await admin.PostAsJsonAsync("/api/v1/users", new { username = "sync" + Guid.NewGuid().ToString("N")[..8] })).Content.ReadFromJsonAsync<JsonElement>();
        var token = await (await admin.PostAsJsonAsync("/api/v1/tokens", new { name = "devices", userId = user.GetProperty("id").GetGuid(), scopes = new[] { "workspaces:read", "workspaces:write" } }))
            .Content.ReadFromJsonAsync<JsonElement>();
        using var deviceA = stack.Gateway(token.GetProperty("token").GetString());
        using var deviceB = stack.Gateway(token.GetProperty("token").GetString());
        deviceB.Timeout = TimeSpan.FromSeconds(90);

        var created = await deviceA.PostAsJsonAsync("/api/v1/workspaces", new { name = "Synced" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var ws = $"/api/v1/workspaces/{(await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid()}";
        var cursor = (await deviceB.GetFromJsonAsync<JsonElement>($"{ws}/changes/latest")).GetProperty("cursor").GetString();
        var poll = deviceB.GetAsync($"{ws}/changes/poll?cursor={cursor}&timeout=60");

        var first = RandomNumberGenerator.GetBytes(200_000);
        var second = RandomNumberGenerator.GetBytes(70_000);
        var content = first.Concat(second).ToArray();
        var missing = await (await deviceA.PostAsJsonAsync($"{ws}/chunks/missing", new { chunkIds = new[] { Hex(first), Hex(second) } })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, missing.GetProperty("missing").GetArrayLength());
        var upload = await deviceA.PostAsync($"{ws}/chunks", Pack(first, second));
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        var commit = await deviceA.PostAsJsonAsync($"{ws}/files/commit", new
        {
            files = new[]
            {
                new { path = "photos/beach.raw", baseVersionId = (Guid?)null, chunks = new[] { Hex(first), Hex(second) }, size = (long)content.Length, contentHash = Hex(content), modifiedAt = DateTimeOffset.UtcNow, mode = 420, device = "device-a" },
            },
        });
        Assert.Equal(HttpStatusCode.OK, commit.StatusCode);
        Assert.Equal("committed", (await commit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results")[0].GetProperty("outcome").GetString());

        var woken = await poll;
        Assert.Equal(HttpStatusCode.OK, woken.StatusCode);
        var change = (await woken.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("changes")[0];
        Assert.Equal("photos/beach.raw", change.GetProperty("path").GetString());
        Assert.Equal(content, await deviceB.GetByteArrayAsync($"{ws}/files/content?path=photos/beach.raw"));

        // A stale edit from device B through the gateway: 409 with the current version, its bytes kept as a conflict copy.
        var edit = RandomNumberGenerator.GetBytes(1000);
        Assert.Equal(HttpStatusCode.OK, (await deviceB.PostAsync($"{ws}/chunks", Pack(edit))).StatusCode);
        var stale = await deviceB.PostAsJsonAsync($"{ws}/files", new
        {
            path = "photos/beach.raw", baseVersionId = Guid.CreateVersion7(), chunks = new[] { Hex(edit) }, size = 1000L, contentHash = Hex(edit), modifiedAt = DateTimeOffset.UtcNow, mode = 420, device = "device-b",
        });
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        var copy = (await stale.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("conflictCopyPath").GetString()!;
        Assert.Equal(edit, await deviceA.GetByteArrayAsync($"{ws}/files/content?path={Uri.EscapeDataString(copy)}"));
    }
}
