using HeadyClouds.AppHost;
using HeadyClouds.AppHost.DataTier;
using HeadyClouds.AppHost.Mesh;

var builder = DistributedApplication.CreateBuilder(args);

var adminToken = builder.AddParameter(ResourceNames.AdminToken, new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);
var encryptionKek = builder.AddParameter(ResourceNames.EncryptionKek, new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);
// Kept outside the platform too: without it no backup can be restored (docs/backup.md).
var backupKek = builder.AddParameter(ResourceNames.BackupKek, new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);
var identitySigningKey = builder.AddParameter(ResourceNames.IdentitySigningKey, new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);

// The internal CA first: every service and, in local mode, PostgreSQL and Redis wait for it and enroll at start (decision 0006).
var mesh = builder.AddCertificateAuthority(DataTierExtensions.StateDirectory(builder.Configuration));
var data = builder.AddDataTier(mesh);
var postgres = data.PostgresServer;
var redis = data.Redis;
var objectStore = data.ObjectStore;

var syncManagerMigrations = builder.AddMigrations<Projects.SyncManager>(ResourceNames.SyncManager, data.SyncManagerDb, postgres, mesh)
    .WithEnvironment("Bootstrap__AdminToken", adminToken);
var headyMeMigrations = builder.AddMigrations<Projects.HeadyMe_Sync>(ResourceNames.HeadyMeSync, data.HeadyMeDb, postgres, mesh)
    .WithReference(objectStore).WaitFor(objectStore);
var monorepoMigrations = builder.AddMigrations<Projects.Monorepo_Sync>(ResourceNames.MonorepoSync, data.MonorepoDb, postgres, mesh)
    .WithReference(objectStore).WaitFor(objectStore);

var syncManager = builder.AddProject<Projects.SyncManager>(ResourceNames.SyncManager)
    .WithPlatformDefaults(identitySigningKey, mesh)
    .WithReference(data.SyncManagerDb)
    .WithReference(redis).WaitFor(redis)
    .WaitForCompletion(syncManagerMigrations);

var headyMe = builder.AddProject<Projects.HeadyMe_Sync>(ResourceNames.HeadyMeSync)
    .WithPlatformDefaults(identitySigningKey, mesh)
    .WithKeyEncryptionKey(encryptionKek)
    .WithReference(data.HeadyMeDb)
    .WithReference(redis).WaitFor(redis)
    .WithReference(objectStore).WaitFor(objectStore)
    .WithReference(syncManager) // platform audit events (sent in the background; no WaitFor needed)
    .WaitForCompletion(headyMeMigrations);

var monorepoStorage = builder.ExecutionContext.IsPublishMode ? "/data/monorepo" : Path.Combine(data.StateDirectory, "monorepo");
var monorepo = builder.AddProject<Projects.Monorepo_Sync>(ResourceNames.MonorepoSync)
    .WithPlatformDefaults(identitySigningKey, mesh)
    .WithKeyEncryptionKey(encryptionKek)
    .WithEnvironment("Monorepo__StoragePath", monorepoStorage)
    .WithReference(data.MonorepoDb)
    .WithReference(objectStore).WaitFor(objectStore)
    .WithReference(syncManager) // platform audit events
    .WaitForCompletion(monorepoMigrations);

// SyncManager's jobs call internal endpoints of both (declared after it, so referenced here; no WaitFor: jobs retry).
syncManager.WithReference(headyMe).WithReference(monorepo);

// The daily backup job (HeadyClouds.Backup): every database, the chunk and bundle buckets, the mirrors, under its own key.
// In containers mode SyncManager's image needs pg_dump 15 and git, and read access to Monorepo.Sync's volume.
syncManager
    .WithReference(objectStore).WaitFor(objectStore)
    .WithReference(data.HeadyMeDb)
    .WithReference(data.MonorepoDb)
    .WithEnvironment("Backup__Encryption__ActiveKeyId", "backup1")
    .WithEnvironment("Backup__Encryption__Keys__backup1", backupKek)
    .WithEnvironment("Backup__Databases__0", ResourceNames.SyncManagerDb)
    .WithEnvironment("Backup__Databases__1", ResourceNames.HeadyMeDb)
    .WithEnvironment("Backup__Databases__2", ResourceNames.MonorepoDb)
    .WithEnvironment("Backup__Buckets__0", "headyme-chunks")
    .WithEnvironment("Backup__Buckets__1", "monorepo-bundles")
    .WithEnvironment("Backup__RepositoriesPath", Path.Combine(monorepoStorage, "mirrors"));
if (!builder.ExecutionContext.IsPublishMode)
{
    // The certificate-health job checks the gateway's development certificate (the internal CA adds its own source later).
    syncManager.WithEnvironment("Jobs__Certificates__gateway", GatewayCertificate.EnsureDevelopmentCertificate(data.StateDirectory).CertificatePath);
}

// The only resource reachable from outside: HTTPS (TLS 1.3) and an HTTP endpoint that only redirects.
builder.AddProject<Projects.Gateway_Yarp>(ResourceNames.Gateway)
    .WithEnvironment("Identity__SigningKey", identitySigningKey)
    // Mesh client only: its public HTTPS port keeps the edge certificate; readiness stays on that port.
    .WithMeshIdentity(mesh, probe: false)
    .WithExternalHttpEndpoints()
    .WithGatewayTls(data.StateDirectory)
    .WithReference(redis).WaitFor(redis)
    .WithReference(syncManager).WaitFor(syncManager)
    .WithReference(headyMe).WaitFor(headyMe)
    .WithReference(monorepo).WaitFor(monorepo);

builder.Build().Run();
