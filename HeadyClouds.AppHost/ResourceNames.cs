namespace HeadyClouds.AppHost;

/// <summary>Resource names: also the service-discovery host names and the connection-string names the services use.</summary>
public static class ResourceNames
{
    public const string Postgres = "postgres";
    public const string Redis = "redis";
    public const string ObjectStore = "objectstore";

    public const string SyncManagerDb = "syncmanager-db";
    public const string HeadyMeDb = "headyme-db";
    public const string MonorepoDb = "monorepo-db";

    public const string SyncManager = "syncmanager";
    public const string HeadyMeSync = "headyme-sync";
    public const string MonorepoSync = "monorepo-sync";
    public const string Gateway = "gateway";

    public const string MigrationsSuffix = "-migrations";

    public const string CertificateAuthority = "certificate-authority";
    public const string CaHsm = "ca-hsm";
    public const string CaOperatorToken = "ca-operator-token";
    public const string CaHsmPin = "ca-hsm-pin";
    public const string CaHsmSoPin = "ca-hsm-so-pin";
    public const string CaPkcs11Module = "ca-pkcs11-module";
    public const string CaTokenLabel = "ca-token-label";
    public const string MeshTrustAnchors = "mesh-trust-anchors";

    /// <summary>Publish mode: <c>&lt;service&gt;-join-token</c>, one secret parameter per mesh workload.</summary>
    public const string JoinTokenSuffix = "-join-token";

    public const string AdminToken = "admin-token";
    public const string IdentitySigningKey = "identity-signing-key";
    public const string EncryptionKek = "encryption-kek";
    public const string BackupKek = "backup-kek";
    public const string PostgresPassword = "postgres-password";
    public const string RedisPassword = "redis-password";
    public const string ObjectStoreUser = "objectstore-user";
    public const string ObjectStorePassword = "objectstore-password";
    public const string GatewayCertificatePath = "gateway-tls-certificate-path";
    public const string GatewayKeyPath = "gateway-tls-key-path";
}

/// <summary>Names of the databases each service owns (one per service, see docs/architecture.md).</summary>
public static class DatabaseNames
{
    public const string SyncManager = "syncmanager";
    public const string HeadyMe = "headyme";
    public const string Monorepo = "monorepo";
}
