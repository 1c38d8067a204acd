using System.Net.Http.Json;
using System.Text;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace HeadyClouds.Backup.Tests;

/// <summary>
/// A service in-process on a database the test chooses (unlike ServiceFixture, which always makes a fresh one): the
/// drill populates a stack, backs it up, wipes it and starts the services again on the restored databases.
/// </summary>
public sealed class ServiceHost<TDbContext>(IReadOnlyDictionary<string, string> settings, string signingKey) : WebApplicationFactory<TDbContext>
    where TDbContext : DbContext
{
    private HttpClient? client;

    public HttpClient Http => client ??= CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Identity:SigningKey", signingKey);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public async Task MigrateAsync(Func<IServiceProvider, TDbContext, Task>? prepare = null)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TDbContext>();
        await db.Database.MigrateAsync();
        if (prepare is not null)
        {
            await prepare(scope.ServiceProvider, db);
        }
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, CallerIdentity caller, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.TryAddWithoutValidation(HeadyHeaders.Identity,
            IdentityAssertion.Create(caller, Encoding.UTF8.GetBytes(signingKey), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(2)));
        return await Http.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostAsync(string path, CallerIdentity caller, object body) =>
        SendAsync(HttpMethod.Post, path, caller, JsonContent.Create(body));

    public Task<HttpResponseMessage> GetAsync(string path, CallerIdentity caller) => SendAsync(HttpMethod.Get, path, caller);

    public override async ValueTask DisposeAsync()
    {
        client?.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>Snapshots of what a restore must bring back exactly.</summary>
public static class Snapshots
{
    /// <summary>Per table: row count and MD5 of every row as text, sorted; per sequence its last value.</summary>
    public static async Task<SortedDictionary<string, string>> DatabaseAsync(string database)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(TestDatabases.ConnectionString(database)) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new Npgsql.NpgsqlCommand("SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            var quoted = string.Join('.', table.Split('.').Select(p => $"\"{p}\""));
            await using var command = new Npgsql.NpgsqlCommand(
                $"SELECT count(*)::text || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '-') FROM {quoted} t", connection);
            result[table] = (string)(await command.ExecuteScalarAsync())!;
        }

        await using (var sequences = new Npgsql.NpgsqlCommand("SELECT schemaname || '.' || sequencename, coalesce(last_value::text, 'null') FROM pg_sequences", connection))
        await using (var reader = await sequences.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                result["seq " + reader.GetString(0)] = reader.GetString(1);
            }
        }

        return result;
    }

    public static async Task<SortedDictionary<string, string>> ObjectsAsync(HeadyClouds.Data.ObjectStorage.IObjectStore store, string bucket, string prefix)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await foreach (var item in store.ListAsync(bucket, prefix, CancellationToken.None))
        {
            using var buffer = new MemoryStream();
            Assert.True(await store.TryGetAsync(bucket, item.Key, buffer, CancellationToken.None));
            result[item.Key] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(buffer.ToArray()));
        }

        return result;
    }

    /// <summary>Every ref with its object id, and HEAD.</summary>
    public static string Refs(string repository) =>
        GitCli.Run(repository, "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)") + "HEAD -> " + GitCli.Run(repository, "symbolic-ref", "HEAD");
}

public static class GitCli
{
    public static string Run(string directory, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["GIT_AUTHOR_NAME"] = info.Environment["GIT_COMMITTER_NAME"] = "Drill";
        info.Environment["GIT_AUTHOR_EMAIL"] = info.Environment["GIT_COMMITTER_EMAIL"] = "drill@example.invalid";
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)}: {errors}");
    }

    /// <summary>A bare mirror with branches, a lightweight and an annotated tag, a non-default HEAD and a custom ref.</summary>
    public static string CreateMirror(string work, string mirror)
    {
        Directory.CreateDirectory(work);
        Run(work, "init", "--quiet", "--initial-branch=main");
        for (var i = 0; i < 5; i++)
        {
            File.WriteAllText(Path.Combine(work, $"file{i % 2}.txt"), $"line {i}\n");
            Run(work, "add", "-A");
            Run(work, "commit", "--quiet", "-m", $"commit {i}");
        }

        Run(work, "tag", "v1");
        Run(work, "checkout", "--quiet", "-b", "feature/x");
        File.WriteAllText(Path.Combine(work, "feature.txt"), "feature\n");
        Run(work, "add", "-A");
        Run(work, "commit", "--quiet", "-m", "feature");
        Run(work, "tag", "-a", "v2", "-m", "annotated");
        Run(work, "clone", "--quiet", "--mirror", work, mirror);
        Run(mirror, "update-ref", "refs/heady/splits/abc", "HEAD~1");
        Run(mirror, "symbolic-ref", "HEAD", "refs/heads/feature/x");
        return mirror;
    }
}
