using Microsoft.Extensions.Configuration;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// The one switch between the two ways a service knows its callers (decision 0006, phase 2). On when
/// <c>Mesh:ServiceName</c> is configured (the AppHost and every deployment set it): callers are identified by their mTLS
/// certificate, end users only when forwarded by the gateway over its own mTLS connection, and the HMAC assertion alone
/// no longer identifies a service. Off (in-process tests only): the signed assertion of decision 0002, as before.
/// </summary>
public static class MeshMode
{
    public static bool IsEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[$"{MeshOptions.Section}:{nameof(MeshOptions.ServiceName)}"]);

    /// <summary>The default scheme in mesh mode: the forwarded user when the request carries an assertion, else the mTLS peer.</summary>
    public const string Scheme = "HeadyMeshDefault";
}
