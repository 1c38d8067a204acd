using System.Text.Json;
using Heady.Cli.Commands;
using Heady.Cli.Config;
using HeadyClouds.Testing;

namespace Heady.Cli.Tests.Sync;

/// <summary>The `heady` commands end to end against the real HeadyMe.Sync (the gateway's part, the bearer token, is replaced by the signed identity).</summary>
[Collection(ProcessWide.Name)]
public sealed class CommandTests(SyncFixture fx) : IClassFixture<SyncFixture>
{
    private CliRunner LoggedIn(HeadyClouds.ServiceDefaults.Identity.CallerIdentity user)
    {
        var cli = new CliRunner();
        new CliConfig("http://gateway.test", "hc_unused", null).Save();
        Heady.Cli.Commands.Cli.ClientFactory = _ => fx.ApiFor(user).Http;
        return cli;
    }

    [Fact]
    public async Task Workspace_sync_versions_and_restore_from_the_command_line()
    {
        var user = Callers.NewUser("workspaces:read", "workspaces:write");
        using var cli = LoggedIn(user);
        using var folder = new Local.TempFolder();
        var name = "Docs " + Callers.Unique();

        var (code, stdout, stderr) = await cli.RunAsync("workspace", "create", name, "--json");
        Assert.True(code == 0, stderr);
        var id = JsonDocument.Parse(stdout).RootElement.GetProperty("id").GetGuid();

        (code, stdout, _) = await cli.RunAsync("workspace", "list", "--json");
        Assert.Equal(0, code);
        Assert.Contains(JsonDocument.Parse(stdout).RootElement.EnumerateArray(), w => w.GetProperty("id").GetGuid() == id);

        (code, _, stderr) = await cli.RunAsync("workspace", "create", name.ToUpperInvariant());
        Assert.Equal(ExitCodes.Error, code);
        Assert.Contains("already own a workspace", stderr);

        folder.File("a.txt", "one");
        (code, stdout, stderr) = await cli.RunAsync("sync", folder.Path, "--workspace", name, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(["a.txt"], JsonDocument.Parse(stdout).RootElement.GetProperty("uploaded").EnumerateArray().Select(e => e.GetString()));

        File.WriteAllText(Path.Combine(folder.Path, "a.txt"), "two");
        File.SetLastWriteTimeUtc(Path.Combine(folder.Path, "a.txt"), DateTime.UtcNow.AddMinutes(1));
        (code, _, stderr) = await cli.RunAsync("push", folder.Path, "--json"); // the folder remembers its workspace
        Assert.True(code == 0, stderr);

        (code, stdout, _) = await cli.RunAsync("versions", Path.Combine(folder.Path, "a.txt"), "--json");
        Assert.Equal(0, code);
        Assert.Equal(2, JsonDocument.Parse(stdout).RootElement.GetArrayLength());

        (code, _, stderr) = await cli.RunAsync("restore", Path.Combine(folder.Path, "a.txt"), "--version", "2", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal("one", File.ReadAllText(Path.Combine(folder.Path, "a.txt")));

        var friend = Guid.CreateVersion7();
        (code, stdout, stderr) = await cli.RunAsync("workspace", "share", name, friend.ToString(), "--role", "viewer", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal("viewer", JsonDocument.Parse(stdout).RootElement.GetProperty("role").GetString());
    }

    [Fact]
    public async Task Exit_codes_and_messages_for_common_mistakes()
    {
        using var cli = LoggedIn(Callers.NewUser("workspaces:read", "workspaces:write"));
        using var folder = new Local.TempFolder();

        var (code, _, stderr) = await cli.RunAsync("sync", folder.Path, "--workspace", "Missing");
        Assert.Equal(ExitCodes.NotFound, code);
        Assert.Contains("heady workspace create", stderr);

        (code, _, stderr) = await cli.RunAsync("push", folder.Path);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--workspace", stderr);

        (code, _, stderr) = await cli.RunAsync("versions", "/nonexistent/file.txt");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("not inside a synced folder", stderr);

        (code, _, _) = await cli.RunAsync("sync");
        Assert.Equal(ExitCodes.Usage, code);

        CliConfig.Delete();
        (code, _, stderr) = await cli.RunAsync("workspace", "list");
        Assert.Equal(ExitCodes.Config, code);
        Assert.Contains("heady login", stderr);
    }

    [Fact]
    public async Task Admins_see_set_and_reset_a_users_quota_and_nobody_else_can()
    {
        var user = Callers.NewUser("workspaces:read", "workspaces:write");
        var workspace = await fx.ApiFor(user).CreateWorkspaceAsync("quota-" + Callers.Unique());
        using (var device = new Device(fx.ApiFor(user), workspace.Id, "laptop"))
        {
            device.Write("five-k.bin", new byte[5000]);
            Assert.Single((await device.SyncAsync()).Uploaded);
        }

        using var cli = LoggedIn(Callers.Admin());
        var (code, stdout, stderr) = await cli.RunAsync("admin", "quota", user.Subject, "--json");
        Assert.True(code == 0, stderr);
        var shown = JsonDocument.Parse(stdout).RootElement;
        Assert.True(shown.GetProperty("isDefault").GetBoolean());
        Assert.Equal(5000, shown.GetProperty("usedBytes").GetInt64());

        (code, stdout, stderr) = await cli.RunAsync("admin", "quota", user.Subject, "--set", "1.5GiB", "--json");
        Assert.True(code == 0, stderr);
        var set = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(3L << 29, set.GetProperty("limitBytes").GetInt64());
        Assert.False(set.GetProperty("isDefault").GetBoolean());
        Assert.Equal(3L << 29, (await fx.ApiFor(user).QuotaAsync()).LimitBytes);

        // Below what the user already stores: allowed (they can still read and delete); new uploads are refused.
        (code, stdout, stderr) = await cli.RunAsync("admin", "quota", user.Subject, "--set", "1KiB", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(1024, JsonDocument.Parse(stdout).RootElement.GetProperty("limitBytes").GetInt64());
        using (var device = new Device(fx.ApiFor(user), workspace.Id, "desktop"))
        {
            await device.SyncAsync();
            device.Write("more.bin", new byte[10]);
            var refused = await Assert.ThrowsAsync<Heady.Cli.Api.HeadyApiException>(() => device.SyncAsync());
            Assert.Equal(System.Net.HttpStatusCode.InsufficientStorage, refused.Status);
        }

        (code, stdout, stderr) = await cli.RunAsync("admin", "quota", user.Subject, "--default", "--json");
        Assert.True(code == 0, stderr);
        Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("isDefault").GetBoolean());

        (code, _, stderr) = await cli.RunAsync("admin", "quota", user.Subject, "--set", "lots");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("not a size", stderr);

        (code, _, _) = await cli.RunAsync("admin", "quota", user.Subject, "--set", "1GB", "--default");
        Assert.Equal(ExitCodes.Usage, code);

        // A user may not read or raise anyone's quota, their own included.
        using var notAdmin = LoggedIn(user);
        (code, _, stderr) = await notAdmin.RunAsync("admin", "quota", user.Subject, "--set", "1TB");
        Assert.Equal(ExitCodes.Auth, code);
        Assert.Contains("Only admins", stderr);
        Assert.True((await fx.ApiFor(user).QuotaAsync()).LimitBytes < 1_000_000_000_000);
    }

    [Fact]
    public async Task A_reader_only_token_cannot_push()
    {
        var owner = Callers.NewUser("workspaces:read", "workspaces:write");
        var workspace = await fx.ApiFor(owner).CreateWorkspaceAsync("ro-" + Callers.Unique());
        var readOnly = Callers.User(owner.Id(), owner.Name, "workspaces:read");
        using var cli = LoggedIn(readOnly);
        using var folder = new Local.TempFolder();
        folder.File("a.txt", "x");

        var (code, _, stderr) = await cli.RunAsync("sync", folder.Path, "--workspace", workspace.Id.ToString());

        Assert.Equal(ExitCodes.Auth, code);
        Assert.Contains("scope", stderr);
    }
}
