using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Yarp.Edge;

/// <summary>
/// YARP's configuration has no client-certificate setting, so the mesh transport is put on its handler here: the
/// gateway presents its workload certificate and accepts, per cluster, only the certificate of the service behind it.
/// </summary>
public sealed class MeshForwarderHttpClientFactory(IMeshCredentials credentials, IOptions<MeshOptions> options) : ForwarderHttpClientFactory
{
    /// <summary>Cluster id → the service (SPIFFE name) its destinations must prove to be.</summary>
    public static readonly IReadOnlyDictionary<string, string> ClusterServices = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["syncmanager"] = "syncmanager",
        ["headyme"] = "headyme-sync",
        ["monorepo"] = "monorepo-sync",
    };

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        // An unknown cluster is checked against its own id, never against "any mesh service".
        var service = ClusterServices.TryGetValue(context.ClusterId, out var known) ? known : context.ClusterId;
        handler.ConfigureMeshClient(credentials, service, options.Value.PooledConnectionLifetime);
    }
}
