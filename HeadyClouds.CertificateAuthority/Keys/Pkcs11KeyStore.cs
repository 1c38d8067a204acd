using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Net.Pkcs11Interop.HighLevelAPI.Factories;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;

namespace HeadyClouds.CertificateAuthority.Keys;

/// <summary>
/// CA keys in a PKCS#11 token (SoftHSM2 in development and tests, any PKCS#11 HSM in production): generated in the
/// token as EC P-256 with CKA_SENSITIVE=true and CKA_EXTRACTABLE=false, so the private key can sign but not leave.
/// One logged-in session, serialized: PKCS#11 sessions are not thread-safe and signing happens a few times a day per service.
/// </summary>
public sealed class Pkcs11KeyStore : ICaKeyStore, IDisposable
{
    // DER of OID 1.2.840.10045.3.1.7 (prime256v1), the CKA_EC_PARAMS of a P-256 key.
    private static readonly byte[] P256Parameters = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

    // C_Initialize/C_Finalize are per process: one library object per module, shared by every store, never finalized.
    private static readonly ConcurrentDictionary<string, IPkcs11Library> Libraries = new();
    private static readonly Pkcs11InteropFactories Factories = new();
    private static int resolverInstalled;

    private readonly Lock gate = new();
    private readonly ISlot slot;
    private readonly string pin;
    private ISession session;

    public Pkcs11KeyStore(string modulePath, string tokenLabel, string pin)
    {
        InstallResolver();
        var library = Libraries.GetOrAdd(modulePath, path => Factories.Pkcs11LibraryFactory.LoadPkcs11Library(Factories, path, AppType.MultiThreaded));
        slot = library.GetSlotList(SlotsType.WithTokenPresent)
            .FirstOrDefault(s => s.GetTokenInfo().Label.Trim() == tokenLabel)
            ?? throw new InvalidOperationException($"No PKCS#11 token labelled '{tokenLabel}' in {modulePath}.");
        this.pin = pin;
        session = OpenSession();
    }

    /// <summary>Called under the gate before each use: a session that lost its login (or died) is replaced.</summary>
    private void EnsureLoggedIn()
    {
        try
        {
            if (session.GetSessionInfo().State == CKS.CKS_RW_USER_FUNCTIONS)
            {
                return;
            }
        }
        catch (Pkcs11Exception)
        {
        }

        try
        {
            session.Dispose();
        }
        catch (Pkcs11Exception)
        {
        }

        session = OpenSession();
    }

    private ISession OpenSession()
    {
        var opened = slot.OpenSession(SessionType.ReadWrite);
        try
        {
            opened.Login(CKU.CKU_USER, pin);
        }
        catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
        {
            // Login state is per application and token; another store in this process logged in already.
        }
        catch
        {
            opened.Dispose();
            throw;
        }

        return opened;
    }

    public ECDsa? Open(string label)
    {
        lock (gate)
        {
            EnsureLoggedIn();
            var privateKey = Find(CKO.CKO_PRIVATE_KEY, label);
            var publicKey = Find(CKO.CKO_PUBLIC_KEY, label);
            if (privateKey is null || publicKey is null)
            {
                return null;
            }

            return new Pkcs11ECDsa(this, label, ReadPoint(publicKey));
        }
    }

    public ECDsa Create(string label)
    {
        lock (gate)
        {
            EnsureLoggedIn();
            if (Find(CKO.CKO_PRIVATE_KEY, label) is not null)
            {
                throw new InvalidOperationException($"The token already holds a key labelled '{label}'.");
            }

            var id = RandomNumberGenerator.GetBytes(16);
            var a = Factories.ObjectAttributeFactory;
            var publicTemplate = new List<IObjectAttribute>
            {
                a.Create(CKA.CKA_TOKEN, true),
                a.Create(CKA.CKA_PRIVATE, false),
                a.Create(CKA.CKA_LABEL, label),
                a.Create(CKA.CKA_ID, id),
                a.Create(CKA.CKA_VERIFY, true),
                a.Create(CKA.CKA_EC_PARAMS, P256Parameters),
            };
            var privateTemplate = new List<IObjectAttribute>
            {
                a.Create(CKA.CKA_TOKEN, true),
                a.Create(CKA.CKA_PRIVATE, true),
                a.Create(CKA.CKA_LABEL, label),
                a.Create(CKA.CKA_ID, id),
                a.Create(CKA.CKA_SIGN, true),
                a.Create(CKA.CKA_SENSITIVE, true),
                a.Create(CKA.CKA_EXTRACTABLE, false),
                a.Create(CKA.CKA_DERIVE, false),
                a.Create(CKA.CKA_DECRYPT, false),
                a.Create(CKA.CKA_UNWRAP, false),
            };
            using var mechanism = Factories.MechanismFactory.Create(CKM.CKM_EC_KEY_PAIR_GEN);
            session.GenerateKeyPair(mechanism, publicTemplate, privateTemplate, out var publicKey, out var privateKey);
            return new Pkcs11ECDsa(this, label, ReadPoint(publicKey));
        }
    }

    public CaKeyAttributes Describe(string label)
    {
        lock (gate)
        {
            EnsureLoggedIn();
            var privateKey = Find(CKO.CKO_PRIVATE_KEY, label) ?? throw new InvalidOperationException($"No private key labelled '{label}'.");
            var values = session.GetAttributeValue(privateKey, [CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_NEVER_EXTRACTABLE, CKA.CKA_ALWAYS_SENSITIVE, CKA.CKA_TOKEN]);
            return new CaKeyAttributes(label, values[0].GetValueAsBool(), values[1].GetValueAsBool(), values[2].GetValueAsBool(), values[3].GetValueAsBool(), values[4].GetValueAsBool());
        }
    }

    internal byte[] Sign(string label, byte[] hash)
    {
        lock (gate)
        {
            using var mechanism = Factories.MechanismFactory.Create(CKM.CKM_ECDSA);
            EnsureLoggedIn();
            try
            {
                // Private objects are invisible without a login: "not found" is also a reason to log in again.
                if (Find(CKO.CKO_PRIVATE_KEY, label) is { } key)
                {
                    return session.Sign(mechanism, key, hash);
                }
            }
            catch (Pkcs11Exception e) when (e.RV is CKR.CKR_USER_NOT_LOGGED_IN or CKR.CKR_SESSION_HANDLE_INVALID or CKR.CKR_SESSION_CLOSED
                or CKR.CKR_OBJECT_HANDLE_INVALID or CKR.CKR_KEY_HANDLE_INVALID or CKR.CKR_DEVICE_REMOVED or CKR.CKR_TOKEN_NOT_PRESENT)
            {
            }

            // The session or its login went away (an HSM restart, or the last session of this process on the token
            // closed, which logs out): a new session, logged in, and one more try.
            try
            {
                session.Dispose();
            }
            catch (Pkcs11Exception)
            {
            }

            session = OpenSession();
            var again = Find(CKO.CKO_PRIVATE_KEY, label) ?? throw new CryptographicException($"The token has no private key labelled '{label}'.");
            return session.Sign(mechanism, again, hash);
        }
    }

    /// <summary>Logs this application out of the token (all its sessions); signing logs in again on next use.</summary>
    internal void Logout()
    {
        lock (gate)
        {
            session.Logout();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            // Logging out would log out every session of this process on the token; closing ours is enough.
            session.Dispose();
        }
    }

    private IObjectHandle? Find(CKO objectClass, string label)
    {
        var a = Factories.ObjectAttributeFactory;
        var found = session.FindAllObjects([a.Create(CKA.CKA_CLASS, objectClass), a.Create(CKA.CKA_LABEL, label)]);
        return found.Count switch
        {
            0 => null,
            1 => found[0],
            _ => throw new InvalidOperationException($"The token holds {found.Count} objects of class {objectClass} labelled '{label}'."),
        };
    }

    private ECPoint ReadPoint(IObjectHandle publicKey)
    {
        var raw = session.GetAttributeValue(publicKey, [CKA.CKA_EC_POINT])[0].GetValueAsByteArray();
        // PKCS#11 says DER OCTET STRING around the uncompressed point; some modules give the bare point.
        var point = raw.Length == 65 && raw[0] == 0x04 ? raw : AsnDecoder.ReadOctetString(raw, AsnEncodingRules.DER, out _);
        if (point.Length != 65 || point[0] != 0x04)
        {
            throw new InvalidOperationException("The token returned an EC point that is not an uncompressed P-256 point.");
        }

        return new ECPoint { X = point[1..33], Y = point[33..65] };
    }

    /// <summary>
    /// Pkcs11Interop opens the module through libdl; glibc ≥ 2.34 ships only libdl.so.2, so map the name.
    /// </summary>
    private static void InstallResolver()
    {
        if (Interlocked.Exchange(ref resolverInstalled, 1) == 1 || !OperatingSystem.IsLinux())
        {
            return;
        }

        NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, (name, assembly, searchPath) =>
            name == "libdl" && NativeLibrary.TryLoad("libdl.so.2", out var handle)
                ? handle
                : NativeLibrary.TryLoad(name, assembly, searchPath, out handle) ? handle : IntPtr.Zero);
    }
}
