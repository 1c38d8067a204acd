using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeadyClouds.AppHost.Mesh;

/// <summary>
/// Certificates of the internal CA for the local data tier's servers (PostgreSQL, Redis: issue 3, item 8). They cannot
/// enroll themselves, so the AppHost does it for them, as the CA's operator: at every start of the resource a fresh
/// single-use join token and a CSR (key made here, never sent), the PEM files written to the state directory (key 0600);
/// then it renews each at 50–70 % of the lifetime with the current certificate over mTLS, like any workload, and
/// enrolls again with a new join token if the certificate ran out (e.g. the machine slept). The server scripts watch the
/// files and reload (eng/local/postgres.sh, redis.sh).
/// </summary>
public sealed partial class DataTierIdentities(ILogger<DataTierIdentities> logger) : BackgroundService
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Workload> workloads = [];
    private readonly SemaphoreSlim changed = new(0);

    private sealed record Workload(string Service, string Directory, Uri CaUrl, string OperatorToken, MeshCertificate Current, double Jitter);

    /// <summary>The current certificate (with its key) of an enrolled data-tier server, or null before its first start.</summary>
    public MeshCertificate? Current(string service)
    {
        lock (gate)
        {
            return workloads.TryGetValue(service, out var workload) ? workload.Current : null;
        }
    }

    /// <summary>First issuance for <paramref name="service"/> (again at every start of its resource); files in <paramref name="directory"/>.</summary>
    public async Task<MeshCertificate> EnrollAsync(string service, string directory, Uri caUrl, string bundlePem, string operatorToken, CancellationToken ct)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(bundlePem);
        var certificate = await FirstIssuanceAsync(service, caUrl, bundle, operatorToken, ct);
        MeshEnrollment.WritePemFiles(certificate, directory);
        lock (gate)
        {
            workloads[service] = new Workload(service, directory, caUrl, operatorToken, certificate, Random.Shared.NextDouble());
        }

        LogInstalled(logger, service, certificate.Serial, certificate.Certificate.NotAfter.ToUniversalTime(), "first issuance");
        changed.Release();
        return certificate;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = new Dictionary<string, int>();
        while (!stoppingToken.IsCancellationRequested)
        {
            Workload[] snapshot;
            lock (gate)
            {
                snapshot = [.. workloads.Values];
            }

            var now = DateTimeOffset.UtcNow;
            var next = now + TimeSpan.FromHours(1);
            foreach (var workload in snapshot)
            {
                var due = DueAt(workload, failures.GetValueOrDefault(workload.Service));
                if (due > now)
                {
                    next = due < next ? due : next;
                    continue;
                }

                try
                {
                    await RenewAsync(workload, stoppingToken);
                    failures.Remove(workload.Service);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    failures[workload.Service] = failures.GetValueOrDefault(workload.Service) + 1;
                    LogRenewalFailed(logger, e, workload.Service, failures[workload.Service], workload.Current.Certificate.NotAfter.ToUniversalTime());
                }

                next = now; // look at the schedule again right away
            }

            var wait = next - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                // Woken early by a new enrollment: a restarted server's certificate replaces the one being waited for.
                await changed.WaitAsync(wait, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private static DateTimeOffset DueAt(Workload workload, int failures)
    {
        var certificate = workload.Current.Certificate;
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        var renewAt = RenewalSchedule.RenewAt(notBefore, notAfter, workload.Jitter);
        return failures == 0 ? renewAt : DateTimeOffset.UtcNow + RenewalSchedule.RetryDelay(TimeSpan.FromSeconds(1), failures - 1, notAfter - DateTimeOffset.UtcNow);
    }

    private async Task RenewAsync(Workload workload, CancellationToken ct)
    {
        var id = SpiffeId.ForService(workload.Service);
        var current = workload.Current;
        MeshCertificate renewed;
        string how;
        if (current.Certificate.NotAfter.ToUniversalTime() > DateTime.UtcNow.AddSeconds(5))
        {
            // Renewal is authenticated by the current certificate (passive revocation: a revoked one is refused).
            renewed = await MeshEnrollment.RequestAsync(workload.CaUrl, new StaticMeshCredentials(current.Certificate, current.TrustBundle), id, joinToken: null, ct);
            how = "renewal";
        }
        else
        {
            renewed = await FirstIssuanceAsync(workload.Service, workload.CaUrl, current.TrustBundle, workload.OperatorToken, ct);
            how = "new enrollment after expiry";
        }

        MeshEnrollment.WritePemFiles(renewed, workload.Directory);
        lock (gate)
        {
            // A restart may have enrolled meanwhile: keep whichever is newer.
            if (workloads.TryGetValue(workload.Service, out var now) && now.Current.Certificate.NotBefore <= renewed.Certificate.NotBefore)
            {
                workloads[workload.Service] = now with { Current = renewed, Jitter = Random.Shared.NextDouble() };
            }
        }

        LogInstalled(logger, workload.Service, renewed.Serial, renewed.Certificate.NotAfter.ToUniversalTime(), how);
    }

    private static async Task<MeshCertificate> FirstIssuanceAsync(string service, Uri caUrl, X509Certificate2Collection bundle, string operatorToken, CancellationToken ct)
    {
        var token = await CaClient.MintJoinTokenAsync(caUrl, bundle, operatorToken, service, ct);
        return await MeshEnrollment.RequestAsync(caUrl, new StaticMeshCredentials(null, bundle), SpiffeId.ForService(service), token, ct);
    }

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<DataTierIdentities>();
        services.AddHostedService(sp => sp.GetRequiredService<DataTierIdentities>());
    }

    [LoggerMessage(1, LogLevel.Information, "Data tier certificate for {Service} installed ({How}): serial {Serial}, valid until {NotAfter:o}")]
    private static partial void LogInstalled(ILogger logger, string service, string serial, DateTime notAfter, string how);

    [LoggerMessage(2, LogLevel.Error, "Renewing the data tier certificate of {Service} failed (attempt {Attempt}); the current one expires at {NotAfter:o}")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception, string service, int attempt, DateTime notAfter);
}

public static class DataTierIdentityExtensions
{
    /// <summary>
    /// Makes a local data-tier server a mesh workload named after its resource: before each start the AppHost enrolls it
    /// (<see cref="DataTierIdentities"/>) and passes the certificate directory in <paramref name="variable"/>.
    /// </summary>
    public static IResourceBuilder<T> WithDataTierIdentity<T>(this IResourceBuilder<T> resource, MeshAuthority mesh, string variable, string directory)
        where T : ExecutableResource
    {
        var caHttps = mesh.Ca.GetEndpoint("https");
        var bundlePath = mesh.TrustBundlePath ?? throw new InvalidOperationException("The data tier's certificates are issued in run mode only.");
        return resource.WaitFor(mesh.Ca).WithEnvironment(async context =>
        {
            var ct = context.CancellationToken;
            var identities = context.ExecutionContext.Services.GetRequiredService<DataTierIdentities>();
            var bundle = await CaClient.TrustBundlePemAsync(bundlePath, ct);
            var operatorToken = await mesh.OperatorToken.Resource.GetValueAsync(ct) ?? throw new InvalidOperationException("ca-operator-token has no value.");
            await identities.EnrollAsync(context.Resource.Name, directory, new Uri(caHttps.Url), bundle, operatorToken, ct);
            context.EnvironmentVariables[variable] = directory;
        });
    }
}
