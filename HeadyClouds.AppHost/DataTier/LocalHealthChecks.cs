using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using HeadyClouds.ServiceDefaults.Mesh;
using Npgsql;

namespace HeadyClouds.AppHost.DataTier;

/// <summary>Health checks the dashboard shows for the local data tier, and that WaitFor waits on.</summary>
internal static class LocalHealthChecks
{
    /// <summary>A query over the services' own path: TLS verified against the CA, and PostgreSQL's own certificate as the client one.</summary>
    public static async Task<HealthCheckResult> PostgresAsync(IResourceWithConnectionString resource, MeshCertificate? identity, CancellationToken ct)
    {
        try
        {
            if (identity is null)
            {
                return HealthCheckResult.Unhealthy("no certificate enrolled for PostgreSQL yet");
            }

            var connectionString = await resource.ConnectionStringExpression.GetValueAsync(ct);
            await using var connection = new NpgsqlConnection(connectionString + ";Timeout=3;Pooling=false")
                .UseMeshClientCertificate(new StaticMeshCredentials(identity.Certificate, identity.TrustBundle));
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(ct);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }

    /// <summary>
    /// AUTH then PING over RESP: needs no client library and proves the password works. Over TLS the AppHost presents
    /// Redis's own certificate (it holds that key anyway, and it is certified for client use) and accepts only the
    /// internal CA's <c>redis</c> identity.
    /// </summary>
    public static async Task<HealthCheckResult> RedisAsync(LocalRedisResource resource, MeshCertificate? identity, CancellationToken ct)
    {
        try
        {
            if (resource.Tls && identity is null)
            {
                return HealthCheckResult.Unhealthy("no certificate enrolled for Redis yet");
            }

            var password = await resource.Password.GetValueAsync(ct) ?? "";
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", resource.Port, timeout.Token);
            Stream stream = client.GetStream();
            if (resource.Tls)
            {
                var tls = new SslStream(stream);
                stream = tls;
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "127.0.0.1",
                    EnabledSslProtocols = SslProtocols.Tls13,
                    ClientCertificates = [identity!.Certificate],
                    RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                        MeshCertificateValidator.ValidateServer(certificate, errors, identity.TrustBundle, resource.Name, out _),
                }, timeout.Token);
            }

            await using var owned = stream;
            var command = $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n";
            await stream.WriteAsync(Encoding.UTF8.GetBytes(command), timeout.Token);
            var buffer = new byte[256];
            var received = new StringBuilder();
            while (!received.ToString().Contains("PONG", StringComparison.Ordinal) && !received.ToString().Contains("-", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                received.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }

            var answer = received.ToString();
            return answer.StartsWith("+OK\r\n+PONG", StringComparison.Ordinal)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"unexpected answer: {answer.Trim()}");
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or AuthenticationException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }

    /// <summary>The wrapper's unauthenticated <c>/_health</c> answers 200 once s3rver serves.</summary>
    public static async Task<HealthCheckResult> ObjectStoreAsync(HttpClient http, LocalObjectStoreResource resource, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{resource.Port}/_health", ct);
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"HTTP {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
