using System.Data.Common;
using Npgsql;

namespace HeadyClouds.Testing;

/// <summary>
/// The real servers the integration tests run against, from the variables that <c>eng/test.sh</c> sets.
/// A missing variable is a failure, never a skip: a green run must mean the tests ran against real servers.
/// </summary>
public static class TestServers
{
    public const string PostgresVariable = "HEADY_TEST_POSTGRES";
    public const string RedisVariable = "HEADY_TEST_REDIS";
    public const string S3Variable = "HEADY_TEST_S3";

    public const string HowToRun =
        "The integration tests run against real PostgreSQL, Redis and S3 servers: run them with `bash eng/test.sh`, " +
        "which starts those servers (eng/test-servers.sh) and sets HEADY_TEST_POSTGRES, HEADY_TEST_REDIS and HEADY_TEST_S3.";

    /// <summary>Npgsql connection string of the server, without a database.</summary>
    public static string Postgres => Require(PostgresVariable);

    /// <summary>StackExchange.Redis configuration string (with the password).</summary>
    public static string Redis => Require(RedisVariable);

    public static S3Settings S3 => S3Settings.Parse(S3Raw);

    /// <summary>The variable as is: the services' <c>ConnectionStrings:objectstore</c> has the same shape.</summary>
    public static string S3Raw => Require(S3Variable);

    private static string Require(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException($"{variable} is not set. {HowToRun}");
        }

        return value;
    }
}

/// <summary><c>Endpoint=http://127.0.0.1:PORT;AccessKey=...;SecretKey=...</c></summary>
public sealed record S3Settings(Uri Endpoint, string AccessKey, string SecretKey)
{
    public static S3Settings Parse(string value)
    {
        var parts = new DbConnectionStringBuilder { ConnectionString = value };
        string Get(string key) => parts.TryGetValue(key, out var v) && v is string s && s.Length > 0
            ? s
            : throw new InvalidOperationException($"{TestServers.S3Variable} has no {key}=...; expected Endpoint=http://127.0.0.1:PORT;AccessKey=...;SecretKey=... {TestServers.HowToRun}");
        return new S3Settings(new Uri(Get("Endpoint")), Get("AccessKey"), Get("SecretKey"));
    }
}

/// <summary>Throw-away databases on the real PostgreSQL server, one per test class.</summary>
public static class TestDatabases
{
    public static string NewName(string service) => $"hc_test_{service}_{Guid.NewGuid():N}";

    public static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(TestServers.Postgres) { Database = database }.ConnectionString;

    public static async Task CreateAsync(string database)
    {
        await using var connection = await OpenMaintenanceAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task DropAsync(string database)
    {
        // Only this database's pool: other test classes run at the same time on their own databases.
        await using (var pooled = new NpgsqlConnection(ConnectionString(database)))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        await using var connection = await OpenMaintenanceAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<bool> ExistsAsync(string database)
    {
        await using var connection = await OpenMaintenanceAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", database);
        return (long)(await command.ExecuteScalarAsync())! == 1;
    }

    private static async Task<NpgsqlConnection> OpenMaintenanceAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(TestServers.Postgres) { Pooling = false };
        if (string.IsNullOrEmpty(builder.Database))
        {
            builder.Database = "postgres";
        }

        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
