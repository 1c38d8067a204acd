using System.Security.Cryptography;

namespace HeadyClouds.CertificateAuthority.Keys;

/// <summary>
/// An ECDSA P-256 key whose private half stays in the PKCS#11 token: signing sends the hash to the token
/// (CKM_ECDSA), the token answers r‖s. Passing this to <c>X509SignatureGenerator.CreateForECDsa</c> lets
/// <c>CertificateRequest.Create</c> sign certificates with it.
/// </summary>
internal sealed class Pkcs11ECDsa : ECDsa
{
    private readonly Pkcs11KeyStore store;
    private readonly string label;
    private readonly ECParameters publicParameters;

    public Pkcs11ECDsa(Pkcs11KeyStore store, string label, ECPoint q)
    {
        this.store = store;
        this.label = label;
        publicParameters = new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = q };
        KeySizeValue = 256;
        LegalKeySizesValue = [new KeySizes(256, 256, 0)];
    }

    public override byte[] SignHash(byte[] hash) => store.Sign(label, hash);

    public override bool VerifyHash(byte[] hash, byte[] signature)
    {
        using var verifier = ECDsa.Create(publicParameters);
        return verifier.VerifyHash(hash, signature);
    }

    public override ECParameters ExportParameters(bool includePrivateParameters) =>
        includePrivateParameters
            ? throw new CryptographicException("The CA key is non-extractable: it never leaves the PKCS#11 token.")
            : publicParameters;

    public override ECParameters ExportExplicitParameters(bool includePrivateParameters) => ExportParameters(includePrivateParameters);

    public override void ImportParameters(ECParameters parameters) => throw new NotSupportedException("A PKCS#11 key cannot be replaced.");

    public override void GenerateKey(ECCurve curve) => throw new NotSupportedException("Keys are generated in the token by the key store.");
}
