using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// A workload's identity, <c>spiffe://&lt;trust domain&gt;/service/&lt;name&gt;</c>, carried as the only URI SAN of its
/// certificate (as SPIFFE X.509-SVIDs do). The service name is what authorization policies compare.
/// </summary>
public sealed partial record SpiffeId(string TrustDomain, string ServiceName)
{
    public const string DefaultTrustDomain = "headyclouds.internal";

    public Uri Uri => new($"spiffe://{TrustDomain}/service/{ServiceName}");

    public override string ToString() => $"spiffe://{TrustDomain}/service/{ServiceName}";

    public static bool IsValidServiceName(string? name) => name is not null && ServiceNamePattern().IsMatch(name);

    public static SpiffeId ForService(string serviceName, string trustDomain = DefaultTrustDomain) =>
        IsValidServiceName(serviceName)
            ? new SpiffeId(trustDomain, serviceName)
            : throw new ArgumentException($"'{serviceName}' is not a valid service name (lower-case letters, digits and '-', at most 63).", nameof(serviceName));

    public static bool TryParse(string? text, [NotNullWhen(true)] out SpiffeId? id)
    {
        id = null;
        if (text is null)
        {
            return false;
        }

        var match = UriPattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        id = new SpiffeId(match.Groups["td"].Value, match.Groups["name"].Value);
        return true;
    }

    /// <summary>
    /// The certificate's SPIFFE ID: its URI SANs must be exactly one, and that one a well-formed ID.
    /// Several URI SANs are refused rather than picking one (the SPIFFE X.509-SVID rule).
    /// </summary>
    public static bool TryFromCertificate(X509Certificate2 certificate, [NotNullWhen(true)] out SpiffeId? id, out string error)
    {
        id = null;
        List<string> uris;
        try
        {
            uris = UriSans(certificate).ToList();
        }
        catch (AsnContentException)
        {
            error = "the subject alternative name extension is malformed";
            return false;
        }

        if (uris.Count != 1)
        {
            error = $"the certificate carries {uris.Count} URI SANs (exactly one SPIFFE ID is required)";
            return false;
        }

        if (!TryParse(uris[0], out id))
        {
            error = $"'{uris[0]}' is not a service SPIFFE ID";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>The URI SANs (GeneralName [6]); .NET's SAN extension type enumerates DNS names and IPs only.</summary>
    public static IEnumerable<string> UriSans(X509Certificate2 certificate)
    {
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }

            var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                if (names.PeekTag() == uriTag)
                {
                    yield return names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex ServiceNamePattern();

    [GeneratedRegex("^spiffe://(?<td>[a-z0-9.-]{1,255})/service/(?<name>[a-z0-9][a-z0-9-]{0,62})$", RegexOptions.CultureInvariant)]
    private static partial Regex UriPattern();
}
