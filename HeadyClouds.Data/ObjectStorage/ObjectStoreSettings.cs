using System.Data.Common;

namespace HeadyClouds.Data.ObjectStorage;

/// <summary>
/// The object store's connection string, the same shape in both modes:
/// <c>Endpoint=http://host:port;AccessKey=...;SecretKey=...</c> (MinIO in containers mode, s3rver in local mode).
/// </summary>
public sealed record ObjectStoreSettings(Uri Endpoint, string AccessKey, string SecretKey)
{
    public static ObjectStoreSettings Parse(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("The object store connection string is empty; the AppHost provides it as ConnectionStrings:objectstore.");
        }

        var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
        string Get(string key) => parts.TryGetValue(key, out var value) && value is string s && s.Length > 0
            ? s
            : throw new InvalidOperationException($"The object store connection string lacks '{key}'.");

        var endpointText = Get("Endpoint");
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"The object store endpoint '{endpointText}' is not an http(s) URL.");
        }

        return new ObjectStoreSettings(endpoint, Get("AccessKey"), Get("SecretKey"));
    }
}
