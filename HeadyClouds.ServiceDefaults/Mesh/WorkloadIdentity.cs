using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// The workload side of the internal CA: obtains the first certificate with the join token, keeps it in memory only,
/// renews it over mTLS at 50–70 % of its lifetime and keeps the trust bundle current. Each certificate gets a new
/// key pair generated here; only the CSR is sent.
/// </summary>
public sealed partial class WorkloadIdentity : IMeshCredentials, IHostedService, IDisposable
{
    private readonly MeshOptions options;
    private readonly ILogger<WorkloadIdentity> logger;
    private readonly TimeProvider time;
    private readonly CancellationTokenSource stopping = new();
    private readonly SpiffeId expected;
    private volatile X509Certificate2? current;
    private volatile X509Certificate2Collection trustBundle = [];
    private Task? renewalLoop;

    public WorkloadIdentity(IOptions<MeshOptions> options, ILogger<WorkloadIdentity> logger, TimeProvider? time = null)
    {
        this.options = options.Value;
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
        expected = SpiffeId.ForService(this.options.ServiceName, this.options.TrustDomain);
    }

    public X509Certificate2? Current => current;

    public X509Certificate2Collection TrustBundle => trustBundle;

    public SpiffeId Id => expected;

    public event Action? Changed;

    /// <summary>Obtains the first certificate; the service does not start without one.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.CaUrl is null)
        {
            throw new InvalidOperationException("Mesh:CaUrl is not configured.");
        }

        if (string.IsNullOrWhiteSpace(options.JoinToken))
        {
            throw new InvalidOperationException("Mesh:JoinToken is not configured: the first certificate needs the service's one-time join token.");
        }

        trustBundle = ParseBundle([options.ReadTrustAnchors()]);
        // The CA may still be starting: retry while it cannot be reached (never after it answered; a refusal is final).
        var deadline = time.GetUtcNow() + options.BootstrapTimeout;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await RequestAsync(renew: false, cancellationToken);
                break;
            }
            catch (HttpRequestException e) when (e.StatusCode is null && e.InnerException is not System.Security.Authentication.AuthenticationException && time.GetUtcNow() < deadline)
            {
                LogBootstrapRetry(logger, e.Message, attempt + 1);
                await Task.Delay(RenewalSchedule.RetryDelay(TimeSpan.FromMilliseconds(250), attempt, TimeSpan.FromSeconds(20)), time, cancellationToken);
            }
        }

        renewalLoop = Task.Run(() => RenewLoopAsync(stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        if (renewalLoop is not null)
        {
            await Task.WhenAny(renewalLoop, Task.Delay(Timeout.Infinite, cancellationToken));
        }
    }

    public void Dispose() => stopping.Dispose();

    /// <summary>Renews now (also what the loop does when due).</summary>
    public Task RenewAsync(CancellationToken cancellationToken = default) => RequestAsync(renew: true, cancellationToken);

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var certificate = current!;
            var renewAt = RenewalSchedule.RenewAt(certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), Random.Shared.NextDouble());
            var wait = attempt == 0
                ? renewAt - time.GetUtcNow()
                : RenewalSchedule.RetryDelay(options.RetryDelay, attempt - 1, certificate.NotAfter.ToUniversalTime() - time.GetUtcNow());
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, cancellationToken);
                }

                await RequestAsync(renew: true, cancellationToken);
                attempt = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                attempt++;
                LogRenewalFailed(logger, e, expected.ToString(), attempt, certificate.NotAfter.ToUniversalTime());
            }
        }
    }

    private async Task RequestAsync(bool renew, CancellationToken cancellationToken)
    {
        var issued = await MeshEnrollment.RequestAsync(options.CaUrl!, this, expected, renew ? null : options.JoinToken, cancellationToken);
        trustBundle = issued.TrustBundle;
        current = issued.Certificate;
        LogInstalled(logger, expected.ToString(), issued.Serial, issued.Certificate.NotAfter.ToUniversalTime());
        Changed?.Invoke();
    }

    internal static X509Certificate2Collection ParseBundle(IEnumerable<string> pems) => MeshEnrollment.ParseBundle(pems);

    [LoggerMessage(1, LogLevel.Information, "Workload certificate for {SpiffeId} installed: serial {Serial}, valid until {NotAfter:o}")]
    private static partial void LogInstalled(ILogger logger, string spiffeId, string serial, DateTime notAfter);

    [LoggerMessage(3, LogLevel.Warning, "The CA is not reachable yet ({Reason}); first issuance attempt {Attempt} will be retried")]
    private static partial void LogBootstrapRetry(ILogger logger, string reason, int attempt);

    [LoggerMessage(2, LogLevel.Error, "Renewing the workload certificate of {SpiffeId} failed (attempt {Attempt}); the current one expires at {NotAfter:o}")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception, string spiffeId, int attempt, DateTime notAfter);
}

public sealed class MeshIdentityException(string message) : Exception(message);
