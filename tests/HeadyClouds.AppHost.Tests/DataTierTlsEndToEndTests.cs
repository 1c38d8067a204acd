using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;
using Npgsql;
using StackExchange.Redis;

namespace HeadyClouds.AppHost.Tests;

/// <summary>
/// The local data tier inside the mesh (issue 3, item 8): Redis takes only TLS 1.3 with a client certificate of the
/// internal CA, PostgreSQL only TLS verified against it (verify-full). The services' own connections are proven by every
/// other end-to-end test passing on this stack.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class DataTierTlsEndToEndTests(StackFixture stack)
{
    private async Task<ConfigurationOptions> RedisOptionsAsync(IMeshCredentials? credentials, SslProtocols protocols = SslProtocols.Tls13)
    {
        var options = ConfigurationOptions.Parse((await stack.App.GetConnectionStringAsync("redis"))!);
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 0;
        options.ConnectTimeout = 5000;
        if (credentials is not null)
        {
            MeshRedis.Apply(options, credentials, "redis");
            options.SslProtocols = protocols;
        }

        return options;
    }

    private static async Task<string> PingAsync(ConfigurationOptions options)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        return (await redis.GetDatabase().ExecuteAsync("PING")).ToString();
    }

    [Fact]
    public async Task Redis_admits_a_client_certificate_of_the_internal_CA_over_TLS_13()
    {
        // DataTierCertificateAsync connects with a CA-issued client certificate and PINGs (asserting PONG).
        using var served = await stack.DataTierCertificateAsync("redis");
        Assert.True(SpiffeId.TryFromCertificate(served, out var id, out _));
        Assert.Equal("redis", id.ServiceName);
        Assert.True(MeshCertificateValidator.Validate(served, stack.TrustBundle(), MeshCertificateValidator.ServerAuth, out var error), error);
    }

    [Fact]
    public async Task Redis_refuses_plain_TCP_no_client_certificate_another_CA_and_TLS_12()
    {
        // Plain TCP with the right password: the port speaks TLS only.
        var plain = ConfigurationOptions.Parse((await stack.App.GetConnectionStringAsync("redis"))!);
        plain.Ssl = false;
        plain.AbortOnConnectFail = true;
        plain.ConnectRetry = 0;
        plain.ConnectTimeout = 5000;
        await Assert.ThrowsAsync<RedisConnectionException>(() => PingAsync(plain));

        // TLS, the server validated, but no client certificate.
        await Assert.ThrowsAsync<RedisConnectionException>(async () => await PingAsync(await RedisOptionsAsync(new StaticMeshCredentials(null, stack.TrustBundle()))));

        // A certificate with a mesh identity from another CA.
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = SelfSignedWorkload("headyme-sync", otherKey);
        await Assert.ThrowsAsync<RedisConnectionException>(async () => await PingAsync(await RedisOptionsAsync(new StaticMeshCredentials(other, stack.TrustBundle()))));

        // A genuine certificate, but TLS 1.2 only.
        using var genuine = await stack.EnrollAsync("headyme-sync");
        await Assert.ThrowsAsync<RedisConnectionException>(async () => await PingAsync(await RedisOptionsAsync(new StaticMeshCredentials(genuine, stack.TrustBundle()), SslProtocols.Tls12)));
    }

    [Fact]
    public async Task A_redis_client_refuses_a_server_that_is_not_the_redis_identity()
    {
        using var certificate = await stack.EnrollAsync("headyme-sync");
        var options = ConfigurationOptions.Parse((await stack.App.GetConnectionStringAsync("redis"))!);
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 0;
        // Expecting PostgreSQL's identity on Redis's port: the real Redis server must not pass.
        MeshRedis.Apply(options, new StaticMeshCredentials(certificate, stack.TrustBundle()), "postgres");
        await Assert.ThrowsAsync<RedisConnectionException>(() => PingAsync(options));
    }

    [Fact]
    public async Task Postgres_takes_TLS_13_verified_against_the_internal_CA_and_nothing_else()
    {
        var connectionString = (await stack.App.GetConnectionStringAsync("postgres"))!;
        var verifyFull = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
        Assert.Equal(SslMode.VerifyFull, verifyFull.SslMode);
        Assert.Equal(Path.Combine(stack.StateDirectory, "ca", "trust-bundle.pem"), verifyFull.RootCertificate);
        using var workload = await stack.EnrollAsync("monorepo-sync");
        var credentials = new StaticMeshCredentials(workload, stack.TrustBundle());

        await using (var connection = new NpgsqlConnection(verifyFull.ConnectionString).UseMeshClientCertificate(credentials))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.True(reader.GetBoolean(0));
            Assert.Equal("TLSv1.3", reader.GetString(1));
        }

        // The certificate PostgreSQL serves carries its mesh identity.
        using var served = await stack.DataTierCertificateAsync("postgres");
        Assert.True(SpiffeId.TryFromCertificate(served, out var id, out _));
        Assert.Equal("postgres", id.ServiceName);

        // Without TLS: pg_hba rejects the connection even with the right password.
        var plain = new NpgsqlConnectionStringBuilder(verifyFull.ConnectionString) { SslMode = SslMode.Disable, RootCertificate = null };
        await using (var connection = new NpgsqlConnection(plain.ConnectionString))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
            Assert.Equal("28000", refused.SqlState); // invalid_authorization_specification: "no encryption"
        }

        // TLS and the right password, but no client certificate: refused (the certificate is a second factor).
        await using (var connection = new NpgsqlConnection(verifyFull.ConnectionString))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
            Assert.Equal("28000", refused.SqlState); // "connection requires a valid client certificate"
        }

        // A client certificate of another CA: refused in the handshake.
        using var foreignKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using (var foreignCa = new CertificateRequest("CN=Foreign CA", foreignKey, HashAlgorithmName.SHA256) { CertificateExtensions = { new X509BasicConstraintsExtension(true, false, 0, true) } }
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1)))
        {
            using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=monorepo-sync", leafKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
            using var leaf = request.Create(foreignCa, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1), [1, 2, 3, 4]);
            using var foreign = leaf.CopyWithPrivateKey(leafKey);
            await using var connection = new NpgsqlConnection(verifyFull.ConnectionString)
                .UseMeshClientCertificate(new StaticMeshCredentials(foreign, stack.TrustBundle()));
            await Assert.ThrowsAnyAsync<Exception>(() => connection.OpenAsync());
            Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        }

        // verify-full against another CA: the server is not trusted.
        var otherCa = Path.Combine(Path.GetTempPath(), $"other-ca-{Guid.NewGuid():N}.pem");
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using (var other = new CertificateRequest("CN=Other CA", otherKey, HashAlgorithmName.SHA256) { CertificateExtensions = { new X509BasicConstraintsExtension(true, false, 0, true) } }
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1)))
        {
            await File.WriteAllTextAsync(otherCa, other.ExportCertificatePem());
        }

        try
        {
            var wrongRoot = new NpgsqlConnectionStringBuilder(verifyFull.ConnectionString) { RootCertificate = otherCa };
            await using var connection = new NpgsqlConnection(wrongRoot.ConnectionString).UseMeshClientCertificate(credentials);
            await Assert.ThrowsAnyAsync<Exception>(() => connection.OpenAsync());
            Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        }
        finally
        {
            File.Delete(otherCa);
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_data_tier_private_keys_are_readable_by_their_owner_only()
    {
        foreach (var service in new[] { "postgres", "redis" })
        {
            var key = Path.Combine(stack.StateDirectory, "tls", service, "key.pem");
            Assert.True(File.Exists(key), key);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        }
    }

    private static X509Certificate2 SelfSignedWorkload(string service, ECDsa key)
    {
        var request = new CertificateRequest($"CN={service}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(SpiffeId.ForService(service).Uri);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([MeshCertificateValidator.ClientAuth, MeshCertificateValidator.ServerAuth], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
    }
}
