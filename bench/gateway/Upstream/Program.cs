// Bench-only upstream (see bench/gateway/README.md). Plain HTTP on loopback, no authentication: it stands in for a
// data-plane service so that the benchmark measures the proxy in front of it, not the service.
using System.Buffers;
using System.Globalization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
});

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

app.Run();
