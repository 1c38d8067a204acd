// Bench-only upstream (see bench/gateway/README.md). Stands in for a data-plane service so that the benchmark measures
// the proxy in front of it, not the service. Plain HTTP on loopback by default; with Mesh:ServiceName configured it is
// a mesh workload like the real services (certificate from the internal CA, TLS 1.3, client certificate required on
// every https URL, probe port for /health only), so the gateway's hop to it is mTLS.
using System.Buffers;
using System.Globalization;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Connections.Features;

var builder = WebApplication.CreateSlimBuilder(args);
// The slim builder leaves https:// URLs out unless asked.
builder.WebHost.UseKestrelHttpsConfiguration();
var connections = new ConnectionCounter();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
    // Counts accepted connections, so the run can show that "no pooling" really opens one per request.
    kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => context =>
    {
        Interlocked.Increment(ref connections.Accepted);
        return next(context);
    }));
});
if (MeshMode.IsEnabled(builder.Configuration))
{
    builder.AddMeshIdentity();
}

var app = builder.Build();

app.MapGet("/health", () => Results.Text("Healthy"));

// A small answer, comparable in size to a typical JSON API response, at almost no cost to produce.
app.MapGet("/api/v1/bench/ping", () => Results.Text("{\"pong\":true}", "application/json"));

// Reads the whole body, keeps none of it, and answers 200 with the number of bytes read.
app.MapPost("/api/v1/bench/upload", async (HttpRequest request, CancellationToken ct) =>
{
    var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    try
    {
        long total = 0;
        int read;
        while ((read = await request.Body.ReadAsync(buffer, ct)) > 0)
        {
            total += read;
        }

        return Results.Text(total.ToString(CultureInfo.InvariantCulture));
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(buffer);
    }
});

// What this hop is: TLS protocol, the caller's SPIFFE ID from its client certificate, and connections accepted so
// far. The run asks it through the gateway to prove the gateway→service hop is mTLS with the gateway's identity.
app.MapGet("/api/v1/bench/peer", (HttpContext context) =>
{
    var tls = context.Features.Get<ITlsHandshakeFeature>();
    var certificate = context.Connection.ClientCertificate;
    var peer = certificate is null ? "none"
        : SpiffeId.TryFromCertificate(certificate, out var id, out var error) ? id.ToString()
        : "invalid: " + error;
    return Results.Json(new PeerView(tls?.Protocol.ToString() ?? "none", peer, Interlocked.Read(ref connections.Accepted)), PeerJson.Default.PeerView);
});

app.Run();

internal sealed class ConnectionCounter
{
    public long Accepted;
}

internal sealed record PeerView(string Tls, string Peer, long Connections);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(PeerView))]
internal sealed partial class PeerJson : System.Text.Json.Serialization.JsonSerializerContext;
