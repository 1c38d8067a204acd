using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.AppHost.Mesh;

/// <summary>
/// The AppHost as the CA's operator in run mode: reads the trust bundle the CA wrote to the state directory and mints a
/// join token per service start. The CA's TLS certificate is checked against that bundle only (and must be the CA's own
/// SPIFFE ID), so the operator token is never sent to anything else.
/// </summary>
public static class CaClient
{
    private sealed record MintRequest(string Service, int LifetimeSeconds);

    private sealed record Minted(string Service, string SpiffeId, string Token, DateTimeOffset ExpiresAt);

    public static async Task<string> TrustBundlePemAsync(string bundlePath, CancellationToken ct)
    {
        // Written by the CA at start (temp file + rename); WaitFor(ca) means it is there, but a slow disk is no reason to fail.
        for (var attempt = 0; !File.Exists(bundlePath); attempt++)
        {
            if (attempt > 50)
            {
                throw new InvalidOperationException($"The CA did not write its trust bundle to {bundlePath}.");
            }

            await Task.Delay(200, ct);
        }

        return await File.ReadAllTextAsync(bundlePath, ct);
    }

    public static Task<string> MintJoinTokenAsync(Uri caUrl, string bundlePem, string operatorToken, string service, CancellationToken ct)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(bundlePem);
        return MintJoinTokenAsync(caUrl, bundle, operatorToken, service, ct);
    }

    public static async Task<string> MintJoinTokenAsync(Uri caUrl, X509Certificate2Collection bundle, string operatorToken, string service, CancellationToken ct)
    {
        // The mesh client settings, without a client certificate: TLS 1.3, the CA's own SPIFFE ID, chained to the bundle.
        using var handler = new SocketsHttpHandler().ConfigureMeshClient(new StaticMeshCredentials(null, bundle), MeshProtocol.CertificateAuthorityService);
        using var http = new HttpClient(handler) { BaseAddress = caUrl, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/operator/join-tokens")
        {
            // Ten minutes: enough for a slow start, useless soon after; single use anyway.
            Content = JsonContent.Create(new MintRequest(service, 600)),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorToken);
        using var response = await http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The CA refused a join token for {service}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }

        var minted = await response.Content.ReadFromJsonAsync<Minted>(ct) ?? throw new InvalidOperationException("The CA answered no join token.");
        return minted.Token;
    }
}
