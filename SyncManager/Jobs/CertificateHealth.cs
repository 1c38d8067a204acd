using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace SyncManager.Jobs;

public sealed record CertificateInfo(string Name, string Subject, DateTimeOffset NotAfter);

/// <summary>
/// Where the certificate-health job finds certificates. Today: PEM/DER files named in configuration
/// (<see cref="FileCertificateSource"/>); the internal CA registers another source later.
/// </summary>
public interface ICertificateSource
{
    Task<IReadOnlyList<CertificateInfo>> GetCertificatesAsync(CancellationToken ct);
}

/// <summary>Reads <c>Jobs:Certificates:&lt;name&gt;</c> = path of a certificate file (PEM or DER), e.g. the gateway's.</summary>
public sealed class FileCertificateSource(IConfiguration configuration) : ICertificateSource
{
    public const string Section = "Jobs:Certificates";

    public Task<IReadOnlyList<CertificateInfo>> GetCertificatesAsync(CancellationToken ct)
    {
        var list = new List<CertificateInfo>();
        foreach (var entry in configuration.GetSection(Section).GetChildren().Where(c => !string.IsNullOrWhiteSpace(c.Value)))
        {
            using var cert = Load(entry.Value!);
            list.Add(new CertificateInfo(entry.Key, cert.Subject, new DateTimeOffset(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero)));
        }

        return Task.FromResult<IReadOnlyList<CertificateInfo>>(list);
    }

    private static X509Certificate2 Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Certificate file '{path}' does not exist.", path);
        }

        var text = File.ReadAllText(path);
        return text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)
            ? X509Certificate2.CreateFromPem(text)
            : X509CertificateLoader.LoadCertificateFromFile(path);
    }
}

/// <summary>Seconds until each certificate expires, as gauge heady.certificates.expiry (alert: below 14 days).</summary>
public sealed class CertificateMetrics
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> notAfter = new();

    public CertificateMetrics(IMeterFactory meters, TimeProvider time)
    {
        meters.Create(JobMetrics.MeterName).CreateObservableGauge("heady.certificates.expiry",
            () => notAfter.Select(p => new Measurement<double>((p.Value - time.GetUtcNow()).TotalSeconds, new KeyValuePair<string, object?>("certificate", p.Key))),
            "s", "Seconds until the certificate expires");
    }

    public void Record(CertificateInfo certificate) => notAfter[certificate.Name] = certificate.NotAfter;
}

/// <summary>
/// Checks every certificate of every source; fails (naming them) when one expires within <c>warnDays</c> (payload,
/// default 30) or cannot be read, so the failure shows in the runs and the dead letters as well as in the alert.
/// </summary>
public sealed class CertificateHealthHandler(IEnumerable<ICertificateSource> sources, CertificateMetrics metrics, TimeProvider time) : IJobHandler
{
    public const int DefaultWarnDays = 30;

    public string Type => JobTypes.CertificateHealth;

    public async Task<string?> RunAsync(JobContext context, CancellationToken ct)
    {
        var warnDays = context.Payload.ValueKind == JsonValueKind.Object && context.Payload.TryGetProperty("warnDays", out var w) && w.TryGetInt32(out var d)
            ? d : DefaultWarnDays;
        var now = time.GetUtcNow();
        var all = new List<CertificateInfo>();
        foreach (var source in sources)
        {
            all.AddRange(await source.GetCertificatesAsync(ct));
        }

        foreach (var c in all)
        {
            metrics.Record(c);
        }

        var expiring = Evaluate(all, now, warnDays);
        if (expiring.Count > 0)
        {
            throw new InvalidOperationException("Certificates expiring within " + warnDays + " days: " + string.Join("; ", expiring));
        }

        return all.Count == 0
            ? "no certificates configured (Jobs:Certificates)"
            : string.Join("; ", all.Select(c => $"{c.Name} valid until {c.NotAfter:u}"));
    }

    public static List<string> Evaluate(IEnumerable<CertificateInfo> certificates, DateTimeOffset now, int warnDays) =>
        certificates.Where(c => c.NotAfter - now < TimeSpan.FromDays(warnDays))
            .OrderBy(c => c.NotAfter)
            .Select(c => c.NotAfter <= now ? $"{c.Name} ({c.Subject}) EXPIRED at {c.NotAfter:u}" : $"{c.Name} ({c.Subject}) expires at {c.NotAfter:u}")
            .ToList();
}
