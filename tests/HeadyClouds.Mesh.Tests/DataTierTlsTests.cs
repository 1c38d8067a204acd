using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;
using Npgsql;
using StackExchange.Redis;

namespace HeadyClouds.Mesh.Tests;

/// <summary>
/// Rotation on the data tier (issue 3, item 8) with the real servers run the way local mode runs them
/// (eng/local/redis.sh, postgres.sh) and certificates from a real CA: a renewed server certificate is loaded without a
/// restart, and a Redis client presents whichever workload certificate is current when it (re)connects.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the servers run by bash scripts, as in local mode
public sealed class DataTierTlsTests(CaFixture ca) : IClassFixture<CaFixture>
{
    [Fact]
    public async Task A_redis_client_reconnects_with_the_certificate_current_at_that_moment()
    {
        await using var redis = await DataTierServer.StartRedisAsync(ca);
        using var first = await ca.EnrollAsync("headyme-sync");
        var credentials = new StaticMeshCredentials(first, ca.TrustBundle);
        var options = redis.ClientOptions(credentials);
        await using var client = await ConnectionMultiplexer.ConnectAsync(options);
        Assert.Equal("PONG", (await client.GetDatabase().ExecuteAsync("PING")).ToString());

        // A certificate the server must refuse becomes current, and the connection is cut: reconnecting must fail.
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCa = Certificates.NewCa(new X500DistinguishedName("CN=Other CA"), otherKey);
        using var foreign = Certificates.FromOtherCa("headyme-sync", otherCa.SubjectName, otherCa, otherKey);
        credentials.Update(foreign);
        await redis.KillClientConnectionsAsync(credentials: new StaticMeshCredentials(first, ca.TrustBundle));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var refused = await Record.ExceptionAsync(() => client.GetDatabase().ExecuteAsync("PING"));
        Assert.True(refused is RedisConnectionException or RedisTimeoutException, $"expected no connection, got {refused?.GetType().Name ?? "an answer"}");

        // The renewed (valid) certificate becomes current: the same multiplexer reconnects with it.
        using var renewed = await ca.EnrollAsync("headyme-sync");
        credentials.Update(renewed);
        Assert.Equal("PONG", await DataTierServer.Eventually(async () => (await client.GetDatabase().ExecuteAsync("PING")).ToString()));
    }

    [Fact]
    public async Task Redis_serves_a_renewed_certificate_without_a_restart_and_keeps_its_clients()
    {
        await using var redis = await DataTierServer.StartRedisAsync(ca);
        using var workload = await ca.EnrollAsync("syncmanager");
        await using var client = await ConnectionMultiplexer.ConnectAsync(redis.ClientOptions(new StaticMeshCredentials(workload, ca.TrustBundle)));
        var before = await redis.ServedSerialAsync();

        var renewedSerial = await redis.RenewAsync(ca);

        Assert.Equal(renewedSerial, await DataTierServer.Eventually(redis.ServedSerialAsync, serial => serial == renewedSerial));
        Assert.NotEqual(before, renewedSerial);
        // The connection made before the reload still works, and new ones see the new certificate.
        Assert.Equal("PONG", (await client.GetDatabase().ExecuteAsync("PING")).ToString());
        await using var again = await ConnectionMultiplexer.ConnectAsync(redis.ClientOptions(new StaticMeshCredentials(workload, ca.TrustBundle)));
        Assert.Equal("PONG", (await again.GetDatabase().ExecuteAsync("PING")).ToString());
    }

    [Fact]
    public async Task PostgreSQL_serves_a_renewed_certificate_without_a_restart_verified_full()
    {
        await using var postgres = await DataTierServer.StartPostgresAsync(ca);
        using var client = await ca.EnrollAsync("syncmanager");
        var credentials = new StaticMeshCredentials(client, ca.TrustBundle);
        var before = await postgres.ServedSerialAsync();
        await using (var connection = new NpgsqlConnection(postgres.VerifyFullConnectionString).UseMeshClientCertificate(credentials))
        {
            await connection.OpenAsync();
        }

        var renewedSerial = await postgres.RenewAsync(ca);

        Assert.Equal(renewedSerial, await DataTierServer.Eventually(postgres.ServedSerialAsync, serial => serial == renewedSerial));
        Assert.NotEqual(before, renewedSerial);
        await using (var connection = new NpgsqlConnection(postgres.VerifyFullConnectionString).UseMeshClientCertificate(credentials))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
            Assert.Equal("TLSv1.3", await command.ExecuteScalarAsync());
        }
    }
}

/// <summary>
/// PostgreSQL in the mesh admits a TCP client only with the password AND a certificate of the internal CA (pg_hba
/// clientcert=verify-ca), run by eng/local/postgres.sh.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PostgresClientCertificateTests(CaFixture ca) : IClassFixture<CaFixture>
{
    private static async Task<PostgresException?> RefusalAsync(string connectionString, IMeshCredentials? credentials)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        if (credentials is not null)
        {
            connection.UseMeshClientCertificate(credentials);
        }

        var error = await Record.ExceptionAsync(() => connection.OpenAsync());
        return error switch
        {
            null => null,
            PostgresException refused => refused,
            _ => throw new Xunit.Sdk.XunitException($"expected PostgreSQL to refuse the login, got {error.GetType().Name}: {error.Message}"),
        };
    }

    [Fact]
    public async Task A_workload_certificate_and_the_password_get_in_and_either_alone_does_not()
    {
        await using var postgres = await DataTierServer.StartPostgresAsync(ca);
        using var allowed = await ca.EnrollAsync("syncmanager");
        Assert.Null(await RefusalAsync(postgres.VerifyFullConnectionString, new StaticMeshCredentials(allowed, ca.TrustBundle)));

        // The right password and TLS, but no certificate.
        var none = await RefusalAsync(postgres.VerifyFullConnectionString, credentials: null);
        Assert.Equal(PostgresErrorCodes.InvalidAuthorizationSpecification, none?.SqlState);

        // A workload certificate with the wrong password.
        var wrongPassword = new NpgsqlConnectionStringBuilder(postgres.VerifyFullConnectionString) { Password = "not-the-password" }.ConnectionString;
        Assert.Equal(PostgresErrorCodes.InvalidPassword,
            (await RefusalAsync(wrongPassword, new StaticMeshCredentials(allowed, ca.TrustBundle)))?.SqlState);
    }

    [Fact]
    public async Task pg_dump_presents_the_workload_certificate_from_files_that_last_one_run()
    {
        await using var postgres = await DataTierServer.StartPostgresAsync(ca);
        using var workload = await ca.EnrollAsync("syncmanager");
        var dumper = new HeadyClouds.Backup.Sources.Postgres(HeadyClouds.Backup.Sources.Postgres.DefaultBin);

        // Without the files libpq has no certificate to present: refused.
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => dumper.DumpAsync(postgres.VerifyFullConnectionString, Stream.Null, CancellationToken.None));
        Assert.Contains("certificate", refused.Message, StringComparison.OrdinalIgnoreCase);

        string directory;
        using (var files = HeadyClouds.Data.ClientCertificateFiles.Write(new StaticMeshCredentials(workload, ca.TrustBundle))!)
        {
            directory = Path.GetDirectoryName(files.KeyPath)!;
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.KeyPath));
            using var dump = new MemoryStream();
            await dumper.DumpAsync(files.Apply(postgres.VerifyFullConnectionString), dump, CancellationToken.None);
            Assert.StartsWith("PGDMP", System.Text.Encoding.ASCII.GetString(dump.GetBuffer(), 0, 5), StringComparison.Ordinal);
        }

        // The key does not outlive the run.
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task A_certificate_of_another_CA_with_an_allowed_name_is_refused_in_the_handshake()
    {
        await using var postgres = await DataTierServer.StartPostgresAsync(ca);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCa = Certificates.NewCa(new X500DistinguishedName("CN=Other CA"), otherKey);
        using var foreign = Certificates.FromOtherCa("syncmanager", otherCa.SubjectName, otherCa, otherKey);

        await using var connection = new NpgsqlConnection(postgres.VerifyFullConnectionString)
            .UseMeshClientCertificate(new StaticMeshCredentials(foreign, ca.TrustBundle));
        var error = await Record.ExceptionAsync(() => connection.OpenAsync());

        Assert.NotNull(error);
        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
    }

    [Fact]
    public async Task A_client_certificate_renewed_meanwhile_is_presented_by_the_next_connection()
    {
        await using var postgres = await DataTierServer.StartPostgresAsync(ca);
        using var first = await ca.EnrollAsync("headyme-sync");
        var credentials = new StaticMeshCredentials(first, ca.TrustBundle);
        await using var source = new NpgsqlDataSourceBuilder(postgres.VerifyFullConnectionString).UseMeshClientCertificate(credentials).Build();
        await (await source.OpenConnectionAsync()).DisposeAsync();

        // The current certificate is now one the server refuses: the next physical connection must present it, and fail.
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCa = Certificates.NewCa(new X500DistinguishedName("CN=Other CA"), otherKey);
        using var foreign = Certificates.FromOtherCa("headyme-sync", otherCa.SubjectName, otherCa, otherKey);
        credentials.Update(foreign);
        Assert.NotNull(await Record.ExceptionAsync(async () => await source.OpenConnectionAsync()));

        using var renewed = await ca.EnrollAsync("headyme-sync");
        credentials.Update(renewed);
        await using var again = await source.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT 1", again);
        Assert.Equal(1, await command.ExecuteScalarAsync());
    }
}

/// <summary>
/// A CA rollover reaches the data tier the way it reaches every workload: Redis trusts the new CA (its client CA file)
/// from its next renewal on, which is why a new CA must be published at least one certificate lifetime before it signs.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataTierRolloverTests(IsolatedCaFixture ca) : IClassFixture<IsolatedCaFixture>
{
    [Fact]
    public async Task Redis_admits_clients_of_the_new_CA_once_its_renewal_brought_the_new_bundle()
    {
        await using var redis = await DataTierServer.StartRedisAsync(ca);
        using var oldClient = await ca.EnrollAsync("syncmanager");
        using var newClient = await DataTierServer.RollOverAndEnrollAsync(ca, "headyme-sync");
        // Redis still has the bundle of its last renewal: a certificate of the new CA is refused.
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(redis.ClientOptions(new StaticMeshCredentials(newClient, ca.TrustBundle))));

        var renewed = await redis.RenewAsync(ca);
        Assert.Equal(renewed, await DataTierServer.Eventually(redis.ServedSerialAsync, serial => serial == renewed));

        // Both generations are trusted now: the new CA's clients and the old CA's (still valid) ones.
        foreach (var certificate in new[] { newClient, oldClient })
        {
            await using var client = await ConnectionMultiplexer.ConnectAsync(redis.ClientOptions(new StaticMeshCredentials(certificate, ca.TrustBundle)));
            Assert.Equal("PONG", (await client.GetDatabase().ExecuteAsync("PING")).ToString());
        }
    }
}

/// <summary>The same for PostgreSQL's client certificates: its ssl_ca_file is the bundle of its last renewal (reloaded with it).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PostgresRolloverTests(IsolatedCaFixture ca) : IClassFixture<IsolatedCaFixture>
{
    [Fact]
    public async Task PostgreSQL_admits_clients_of_the_new_CA_once_its_renewal_brought_the_new_bundle()
    {
        await using var postgres = await DataTierServer.StartPostgresAsync(ca);
        using var oldClient = await ca.EnrollAsync("syncmanager");
        using var newClient = await DataTierServer.RollOverAndEnrollAsync(ca, "headyme-sync");
        async Task OpenAsync(X509Certificate2 client)
        {
            await using var connection = new NpgsqlConnection(postgres.VerifyFullConnectionString)
                .UseMeshClientCertificate(new StaticMeshCredentials(client, ca.TrustBundle));
            await connection.OpenAsync();
        }

        // PostgreSQL still has the bundle of its last renewal: a certificate of the new CA is refused.
        Assert.NotNull(await Record.ExceptionAsync(() => OpenAsync(newClient)));

        var renewed = await postgres.RenewAsync(ca);
        Assert.Equal(renewed, await DataTierServer.Eventually(postgres.ServedSerialAsync, serial => serial == renewed));

        // Both generations are admitted now (the reload is asynchronous: the first attempts may still be refused).
        await DataTierServer.Eventually(async () => { await OpenAsync(newClient); return true; });
        await OpenAsync(newClient);
        await OpenAsync(oldClient);
    }
}

/// <summary>A data-tier server run by its eng/local script with a certificate directory the test renews, like the AppHost.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class DataTierServer : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static Task<T> Eventually<T>(Func<Task<T>> probe) => Eventually(probe, _ => true);

    /// <summary>Polls until the probe answers what is expected (a reload is asynchronous); the last error fails the test.</summary>
    public static async Task<T> Eventually<T>(Func<Task<T>> probe, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                var value = await probe();
                if (done(value) || DateTime.UtcNow > deadline)
                {
                    return value;
                }
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // not yet
            }

            await Task.Delay(250);
        }
    }

    private readonly Process process;
    private readonly string root;
    private readonly string service;

    private DataTierServer(Process process, string root, string service, int port, string password)
    {
        this.process = process;
        this.root = root;
        this.service = service;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string Password { get; }

    private string TlsDirectory => Path.Combine(root, "tls");

    private string BundlePath => Path.Combine(TlsDirectory, "ca.pem");

    public string VerifyFullConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = "postgres", Password = Password, Database = "postgres",
        SslMode = SslMode.VerifyFull, RootCertificate = BundlePath, Pooling = false, Timeout = 5,
    }.ConnectionString;

    public static Task<DataTierServer> StartRedisAsync(CaFixture ca) => StartAsync(ca, "redis", "redis.sh", "HEADY_REDIS_PASSWORD", "HEADY_REDIS_TLS_DIR");

    public static Task<DataTierServer> StartPostgresAsync(CaFixture ca) => StartAsync(ca, "postgres", "postgres.sh", "HEADY_PG_PASSWORD", "HEADY_PG_TLS_DIR");

    private static async Task<DataTierServer> StartAsync(CaFixture ca, string service, string script, string passwordVariable, string tlsVariable)
    {
        // Under /tmp, traversable: PostgreSQL runs as its own OS user when the tests run as root.
        var root = Path.Combine("/tmp", $"heady-dt-{service}-{Guid.NewGuid():N}"[..30]);
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        var port = FreePort();
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var server = new DataTierServer(new Process(), root, service, port, password);
        await server.WriteCertificateAsync(ca);

        var start = new ProcessStartInfo("bash", [Path.Combine(RepositoryRoot(), "eng", "local", script), Path.Combine(root, "data"), port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment[passwordVariable] = password;
        start.Environment[tlsVariable] = server.TlsDirectory;

        server.process.StartInfo = start;
        server.process.OutputDataReceived += (_, _) => { };
        server.process.ErrorDataReceived += (_, _) => { };
        server.process.Start();
        server.process.BeginOutputReadLine();
        server.process.BeginErrorReadLine();
        await DataTierServer.Eventually(server.ServedSerialAsync);
        if (service == "postgres")
        {
            // The script sets the password once the server accepts connections: TLS answering is not yet "ready".
            using var probe = await ca.EnrollAsync("syncmanager");
            await DataTierServer.Eventually(async () =>
            {
                await using var connection = new NpgsqlConnection(server.VerifyFullConnectionString)
                    .UseMeshClientCertificate(new StaticMeshCredentials(probe, ca.TrustBundle));
                await connection.OpenAsync();
                return true;
            });
        }

        return server;
    }

    /// <summary>A CA rollover (the new CA published 2 s before it signs), then a workload certificate from the new CA.</summary>
    public static async Task<X509Certificate2> RollOverAndEnrollAsync(IsolatedCaFixture ca, string service)
    {
        var old = ca.Authority.Active();
        using (var admin = ca.OperatorClient())
        {
            using var rollover = await admin.PostAsJsonAsync("/v1/operator/rollover", new { publishForSeconds = 2 });
            Assert.Equal(HttpStatusCode.Created, rollover.StatusCode);
        }

        while (ca.Authority.Active().Number == old.Number)
        {
            await Task.Delay(100);
        }

        var issued = await ca.EnrollAsync(service);
        Assert.NotEqual(old.Certificate.Subject, issued.Issuer);
        return issued;
    }

    /// <summary>What the AppHost does on renewal: a new certificate for the same identity, files replaced, serial last.</summary>
    public async Task<string> RenewAsync(CaFixture ca) => await WriteCertificateAsync(ca);

    private async Task<string> WriteCertificateAsync(CaFixture ca)
    {
        var certificate = await ca.EnrollAsync(service);
        var serial = certificate.SerialNumber;
        MeshEnrollment.WritePemFiles(new MeshCertificate(certificate, ca.TrustBundle, serial), TlsDirectory);
        return serial;
    }

    /// <summary>The serial of the certificate the server presents now (a new TLS handshake).</summary>
    public async Task<string> ServedSerialAsync()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port);
        Stream stream = tcp.GetStream();
        if (service == "postgres")
        {
            // SSLRequest, then PostgreSQL answers 'S' and the TLS handshake follows.
            await stream.WriteAsync(new byte[] { 0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F });
            var answer = new byte[1];
            await stream.ReadExactlyAsync(answer);
            Assert.Equal((byte)'S', answer[0]);
        }

        X509Certificate2? served = null;
        await using var tls = new System.Net.Security.SslStream(stream, false, (_, c, _, _) =>
        {
            served = new X509Certificate2(c!);
            return true;
        });
        try
        {
            await tls.AuthenticateAsClientAsync("127.0.0.1");
        }
        catch (Exception) when (served is not null)
        {
            // Redis wants a client certificate; the server's certificate was seen before that mattered.
        }

        return served?.SerialNumber ?? throw new InvalidOperationException("no certificate served");
    }

    public ConfigurationOptions ClientOptions(IMeshCredentials credentials)
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{Port},password={Password},ssl=true");
        options.ConnectTimeout = 5000;
        options.AbortOnConnectFail = true;
        return MeshRedis.Apply(options, credentials, "redis");
    }

    /// <summary>Cuts every normal client connection (not this one's), as a network failure would.</summary>
    public async Task KillClientConnectionsAsync(IMeshCredentials credentials)
    {
        var options = ClientOptions(credentials);
        options.AllowAdmin = true;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(options);
        await admin.GetDatabase().ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // The scripts stop their server on SIGTERM (postgres: fast shutdown).
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).WaitForExit();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // PostgreSQL's files belong to its own user; leftovers in /tmp do no harm.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HeadyClouds.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("HeadyClouds.sln not found above " + AppContext.BaseDirectory);
    }
}
