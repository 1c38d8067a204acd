using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace HeadyClouds.CertificateAuthority.Keys;

/// <summary>
/// INSECURE: CA keys in process memory, lost at exit (every start is a new CA). Only behind
/// <c>CertificateAuthority:InsecureSoftwareKey=true</c>, which logs a warning at every start.
/// </summary>
public sealed class SoftwareKeyStore : ICaKeyStore
{
    private readonly ConcurrentDictionary<string, ECDsa> keys = new();

    public ECDsa? Open(string label) => keys.TryGetValue(label, out var key) ? key : null;

    public ECDsa Create(string label)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return keys.TryAdd(label, key) ? key : throw new InvalidOperationException($"A key labelled '{label}' exists.");
    }

    public CaKeyAttributes Describe(string label) => new(label, Sensitive: false, Extractable: true, NeverExtractable: false, AlwaysSensitive: false, OnToken: false);
}
