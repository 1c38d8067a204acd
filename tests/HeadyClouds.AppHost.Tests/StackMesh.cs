using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.AppHost.Tests;

/// <summary>One row of the CA's operator inventory (<c>GET /v1/operator/certificates</c>).</summary>
public sealed record IssuedCertificateRow(string Serial, string Service, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset IssuedAt, string? RenewedFrom, DateTimeOffset? RevokedAt);

/// <summary>The internal CA of a running stack as the tests use it: its bundle, the operator API, test workloads' certificates.</summary>
public static class StackMesh
{
    private sealed record MintedToken(string Token);

    public static X509Certificate2Collection TrustBundle(this StackFixture stack)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(File.ReadAllText(Path.Combine(stack.StateDirectory, "ca", "trust-bundle.pem")));
        return bundle;
    }

    public static Uri CaUrl(this StackFixture stack) => stack.App.GetEndpoint("certificate-authority", "https");

    /// <summary>The operator API, over TLS checked against the bundle and the CA's own identity.</summary>
    public static HttpClient CaOperator(this StackFixture stack)
    {
        var client = new HttpClient(new SocketsHttpHandler().ConfigureMeshClient(new StaticMeshCredentials(null, stack.TrustBundle()), MeshProtocol.CertificateAuthorityService))
        {
            BaseAddress = stack.CaUrl(),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack.CaOperatorToken);
        return client;
    }

    public static async Task<string> MintJoinTokenAsync(this StackFixture stack, string service)
    {
        using var operatorHttp = stack.CaOperator();
        var minted = await operatorHttp.PostAsJsonAsync("/v1/operator/join-tokens", new { service, lifetimeSeconds = 60 });
        Assert.Equal(HttpStatusCode.Created, minted.StatusCode);
        return (await minted.Content.ReadFromJsonAsync<MintedToken>())!.Token;
    }

    /// <summary>A real certificate of the internal CA for <paramref name="service"/>, enrolled as an operator would.</summary>
    public static async Task<X509Certificate2> EnrollAsync(this StackFixture stack, string service)
    {
        var token = await stack.MintJoinTokenAsync(service);
        var issued = await MeshEnrollment.RequestAsync(stack.CaUrl(), new StaticMeshCredentials(null, stack.TrustBundle()), SpiffeId.ForService(service), token);
        return issued.Certificate;
    }

    /// <summary>Every certificate the CA issued to <paramref name="service"/>, oldest first.</summary>
    public static async Task<IssuedCertificateRow[]> IssuedCertificatesAsync(this StackFixture stack, string service, CancellationToken ct = default)
    {
        using var operatorHttp = stack.CaOperator();
        return (await operatorHttp.GetFromJsonAsync<IssuedCertificateRow[]>($"/v1/operator/certificates?service={service}", ct))!;
    }

    /// <summary>
    /// A client of <paramref name="service"/>'s API port that checks the server against the internal CA only;
    /// <paramref name="serverCertificate"/> sees each certificate the server presents.
    /// </summary>
    public static HttpClient ServiceClient(this StackFixture stack, string service, X509Certificate2? presented, Action<X509Certificate2>? serverCertificate = null)
    {
        var handler = new SocketsHttpHandler().ConfigureMeshClient(new StaticMeshCredentials(presented, stack.TrustBundle()), service);
        if (serverCertificate is not null)
        {
            var validate = handler.SslOptions.RemoteCertificateValidationCallback!;
            handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            {
                if (certificate is X509Certificate2 server)
                {
                    serverCertificate(server);
                }

                return validate(sender, certificate, chain, errors);
            };
        }

        return new HttpClient(handler) { BaseAddress = stack.App.GetEndpoint(service, "https") };
    }

    /// <summary>
    /// The certificate PostgreSQL or Redis of the local data tier serves on a new connection (with a test workload's
    /// client certificate: both admit none without).
    /// </summary>
    public static async Task<X509Certificate2> DataTierCertificateAsync(this StackFixture stack, string resource)
    {
        X509Certificate2? served = null;
        var connectionString = (await stack.App.GetConnectionStringAsync(resource))!;
        if (resource == "redis")
        {
            using var client = await stack.EnrollAsync("headyme-sync");
            var options = StackExchange.Redis.ConfigurationOptions.Parse(connectionString);
            options.AbortOnConnectFail = true;
            MeshRedis.Apply(options, new StaticMeshCredentials(client, stack.TrustBundle()), "redis");
            // A multicast validation callback answers with its last handler: this one repeats the mesh check while capturing.
            options.CertificateValidation += (_, certificate, _, errors) =>
            {
                served = new X509Certificate2(certificate!);
                return MeshCertificateValidator.ValidateServer(certificate, errors, stack.TrustBundle(), "redis", out _);
            };
            await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
            Assert.Equal("PONG", (await redis.GetDatabase().ExecuteAsync("PING")).ToString());
        }
        else
        {
            var builder = new Npgsql.NpgsqlDataSourceBuilder(connectionString);
            builder.ConnectionStringBuilder.Database = "postgres";
            builder.ConnectionStringBuilder.Pooling = false;
            var verifyFull = builder.ConnectionStringBuilder.SslMode == Npgsql.SslMode.VerifyFull;
            Assert.True(verifyFull, "The local PostgreSQL connection string must ask for verify-full.");
            // Require + a callback that captures, then checks the chain against the bundle and the name itself.
            builder.ConnectionStringBuilder.SslMode = Npgsql.SslMode.Require;
            builder.ConnectionStringBuilder.RootCertificate = null;
            using var client = await stack.EnrollAsync("syncmanager");
            builder.UseSslClientAuthenticationOptionsCallback(o =>
            {
                o.ClientCertificates = [client];
                o.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    served = new X509Certificate2(certificate!);
                    return MeshCertificateValidator.ValidateServer(certificate, errors, stack.TrustBundle(), "postgres", out _);
                };
            });
            await using var source = builder.Build();
            await using var connection = await source.OpenConnectionAsync();
        }

        return served ?? throw new InvalidOperationException($"{resource} served no certificate");
    }
}
