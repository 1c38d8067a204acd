namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>Configuration section <c>Mesh</c> of a workload.</summary>
public sealed class MeshOptions
{
    public const string Section = "Mesh";

    /// <summary>This workload's service name (its SPIFFE ID is <c>spiffe://&lt;TrustDomain&gt;/service/&lt;ServiceName&gt;</c>).</summary>
    public string ServiceName { get; set; } = "";

    public string TrustDomain { get; set; } = SpiffeId.DefaultTrustDomain;

    /// <summary>The SPIFFE service name the Redis server's certificate must carry when the connection uses TLS.</summary>
    public string RedisService { get; set; } = "redis";

    /// <summary>Base address of the CA (https).</summary>
    public Uri? CaUrl { get; set; }

    /// <summary>The one-time join token for the first issuance (a secret parameter).</summary>
    public string? JoinToken { get; set; }

    /// <summary>
    /// PEM of the CA certificate(s) to trust when first contacting the CA (bootstrap), before the bundle is fetched.
    /// Public data; without it the join token could be handed to an impostor CA.
    /// </summary>
    public string? TrustAnchors { get; set; }

    /// <summary>Alternative to <see cref="TrustAnchors"/>: a PEM file.</summary>
    public string? TrustAnchorsFile { get; set; }

    /// <summary>
    /// How long an outgoing pooled connection lives. A connection keeps the certificate of its handshake, so this must be
    /// well below the part of the lifetime left after renewal (at least 30 %) or requests on old connections would
    /// present an expired certificate.
    /// </summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Plain-HTTP port for the orchestrator's probes; it serves <c>/health</c> and <c>/alive</c> and nothing else,
    /// so the API ports can require client certificates. 0: no probe port.
    /// </summary>
    public int ProbePort { get; set; }

    /// <summary>How long the first issuance keeps retrying while the CA cannot be reached.</summary>
    public TimeSpan BootstrapTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>First retry delay after a failed renewal (doubles up to a tenth of the remaining lifetime).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    internal string ReadTrustAnchors() =>
        !string.IsNullOrWhiteSpace(TrustAnchors) ? TrustAnchors
        : !string.IsNullOrWhiteSpace(TrustAnchorsFile) ? File.ReadAllText(TrustAnchorsFile)
        : throw new InvalidOperationException("Mesh:TrustAnchors (or Mesh:TrustAnchorsFile) must name the internal CA certificate to bootstrap from.");
}
