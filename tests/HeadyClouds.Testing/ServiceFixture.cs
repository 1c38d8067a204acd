using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace HeadyClouds.Testing;

/// <summary>
/// One service hosted in-process by <see cref="WebApplicationFactory{TEntryPoint}"/>, on a fresh database of the
/// real PostgreSQL server with the service's real migrations applied; the database is dropped at the end.
/// <typeparamref name="TDbContext"/> is both the service's DbContext and the marker type that tells the factory
/// which service's Program to run (the services' own *Services classes are static and cannot be type arguments).
/// Shared by all tests of a class (IClassFixture): start-up is the slow part.
/// </summary>
public abstract class ServiceFixture<TDbContext> : IAsyncLifetime where TDbContext : DbContext
{
    private ServiceFactory? factory;

    /// <summary>The Aspire resource name the service reads its connection string from.</summary>
    protected abstract string DatabaseResource { get; }

    protected abstract string ServiceName { get; }

    /// <summary>True when the service needs Redis (only then is HEADY_TEST_REDIS required).</summary>
    protected virtual bool UsesRedis => false;

    /// <summary>True when the service needs the object store (only then is HEADY_TEST_S3 required).</summary>
    protected virtual bool UsesObjectStore => false;

    /// <summary>Further configuration the service needs (keys, options).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> ExtraSettings => [];

    /// <summary>A fresh key per fixture; 48 characters (the service refuses fewer than 32 bytes).</summary>
    /// <remarks>Settable before <see cref="InitializeAsync"/> so services hosted together can share one key, as the AppHost gives them.</remarks>
    public string SigningKeyText { get; set; } = "itest-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(21));

    public byte[] SigningKey => Encoding.UTF8.GetBytes(SigningKeyText);

    public string DatabaseName { get; private set; } = "";

    public string ConnectionString { get; private set; } = "";

    public WebApplicationFactory<TDbContext> Factory => factory ?? throw new InvalidOperationException("The fixture is not initialized.");

    public HttpClient Client { get; private set; } = null!;

    /// <summary>Every log line the service wrote at Warning or above (the fixture's level), to check what is never logged.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Logs { get; } = new();

    public virtual async Task InitializeAsync()
    {
        // Read every variable first, so a missing one fails with the how-to-run message before anything starts.
        _ = TestServers.Postgres;
        var redis = UsesRedis ? TestServers.Redis : null;
        var objectStore = UsesObjectStore ? TestServers.S3Raw : null;

        DatabaseName = TestDatabases.NewName(ServiceName);
        ConnectionString = TestDatabases.ConnectionString(DatabaseName);
        await TestDatabases.CreateAsync(DatabaseName);
        try
        {
            var settings = new Dictionary<string, string>
            {
                [$"ConnectionStrings:{DatabaseResource}"] = ConnectionString,
                ["Identity:SigningKey"] = SigningKeyText,
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
            };
            if (redis is not null)
            {
                settings["ConnectionStrings:redis"] = redis;
            }

            if (objectStore is not null)
            {
                settings["ConnectionStrings:objectstore"] = objectStore;
            }

            foreach (var (key, value) in ExtraSettings)
            {
                settings[key] = value;
            }

            factory = new ServiceFactory(settings, Logs, ConfigureTestServices);
            // What the service's migration step (--migrate) does before the service starts: schema, then the rest.
            await using (var scope = factory.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<TDbContext>();
                await db.Database.MigrateAsync();
                await PrepareAsync(scope.ServiceProvider, db);
            }

            Client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        if (factory is not null)
        {
            await factory.DisposeAsync();
            factory = null;
        }

        if (DatabaseName.Length > 0)
        {
            await TestDatabases.DropAsync(DatabaseName);
        }
    }

    /// <summary>The rest of the service's migration step after the schema (seeding, storage), if any.</summary>
    protected virtual Task PrepareAsync(IServiceProvider services, TDbContext db) => Task.CompletedTask;

    /// <summary>Replaces services after the service's own registrations (e.g. routes an HttpClient to another in-process service).</summary>
    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    /// <summary>A DbContext of the running service (its real configuration), for arranging and checking state.</summary>
    public async Task<T> WithDbAsync<T>(Func<TDbContext, Task<T>> action)
    {
        await using var scope = Factory.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<TDbContext>());
    }

    /// <summary>A plain connection to the test database, to check rows without going through the service's model.</summary>
    public async Task<NpgsqlConnection> OpenConnectionAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>What the gateway forwards: a signed, short-lived identity assertion.</summary>
    public string Assertion(CallerIdentity identity, TimeSpan? lifetime = null, byte[]? key = null, DateTimeOffset? now = null) =>
        IdentityAssertion.Create(identity, key ?? SigningKey, now ?? DateTimeOffset.UtcNow, lifetime ?? TimeSpan.FromMinutes(2));

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, CallerIdentity? caller = null, object? body = null) =>
        SendAsync(method, path, caller is null ? null : Assertion(caller), body is null ? null : JsonContent.Create(body));

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? assertion, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (assertion is not null)
        {
            request.Headers.TryAddWithoutValidation(HeadyHeaders.Identity, assertion);
        }

        return await Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> GetAsync(string path, CallerIdentity? caller = null) => SendAsync(HttpMethod.Get, path, caller);

    public Task<HttpResponseMessage> PostAsync(string path, CallerIdentity? caller, object body) => SendAsync(HttpMethod.Post, path, caller, body);

    private sealed class ServiceFactory(
        IReadOnlyDictionary<string, string> settings,
        System.Collections.Concurrent.ConcurrentQueue<string> logs,
        Action<IServiceCollection> configureTestServices) : WebApplicationFactory<TDbContext>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.ConfigureServices(services => services.AddLogging(logging => logging.AddProvider(new HeadyClouds.Testing.CollectingLoggerProvider(logs))));
            builder.ConfigureTestServices(configureTestServices);
            // UseSetting reaches WebApplication.CreateBuilder as configuration before Program.cs reads it
            // (the services read the signing key and connection strings while building, not after).
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}
