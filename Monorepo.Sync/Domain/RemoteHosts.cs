using System.Net;
using System.Net.Sockets;

namespace Monorepo.Sync.Domain;

/// <summary>
/// Egress policy for mirror sources and targets (server-side request forgery): a user-supplied URL must not make the
/// service talk to its own network — loopback, private ranges, link-local (cloud metadata at 169.254.169.254), carrier
/// NAT, unique-local, unspecified, multicast — unless the operator allows it (<c>Monorepo:AllowPrivateNetworkRemotes</c>,
/// like GitLab's "allow requests to the local network"). Checked when a URL is registered and again before every sync
/// (a name can be re-pointed after registration); git resolves the name once more when it connects, so a DNS answer
/// that changes within that second is not caught (documented).
/// </summary>
public static class RemoteHosts
{
    /// <summary>The host a remote URL connects to (https://, ssh://, scp-like <c>user@host:path</c>); null for local paths.</summary>
    public static string? HostOf(string url)
    {
        if (url.Contains("://", StringComparison.Ordinal))
        {
            return Uri.TryCreate(url, UriKind.Absolute, out var uri) && !uri.IsFile && !string.IsNullOrEmpty(uri.Host)
                ? uri.Host.Trim('[', ']')
                : null;
        }

        var at = url.IndexOf('@', StringComparison.Ordinal);
        var colon = url.IndexOf(':', StringComparison.Ordinal);
        return at >= 0 && colon > at ? url[(at + 1)..colon] : null;
    }

    /// <summary>Whether an address belongs to a network the platform itself lives on (or no real host at all).</summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] switch
            {
                0 => true,                                   // "this network"
                10 => true,                                  // private
                100 => b[1] is >= 64 and <= 127,             // carrier-grade NAT
                169 => b[1] == 254,                          // link-local, cloud metadata
                172 => b[1] is >= 16 and <= 31,              // private
                192 => (b[1] == 168) || (b[1] == 0 && b[2] == 0), // private; IETF protocol assignments
                198 => b[1] is 18 or 19,                     // benchmarking
                >= 224 => true,                              // multicast, reserved, broadcast
                _ => false,
            };
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any)
                || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC;                    // unique local fc00::/7
        }

        return true;
    }

    /// <summary>
    /// Null when the URL may be used; otherwise why not. A name that does not resolve passes (nothing can be reached
    /// through it; the check runs again before every sync).
    /// </summary>
    public static async Task<string?> CheckAsync(string url, bool allowPrivateNetwork, CancellationToken ct)
    {
        if (allowPrivateNetwork || HostOf(url) is not { Length: > 0 } host)
        {
            return null;
        }

        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            addresses = [IPAddress.Loopback];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, ct);
            }
            catch (SocketException)
            {
                return null;
            }
        }

        return addresses.FirstOrDefault(IsInternal) is { } internalAddress
            ? $"{(literal is null ? $"'{host}' resolves to {internalAddress}," : $"'{host}' is")} an address of the platform's own network (loopback, private, link-local or similar): mirroring from or to it is refused. An operator can allow it with Monorepo:AllowPrivateNetworkRemotes."
            : null;
    }
}
