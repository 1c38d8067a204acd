using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace HeadyClouds.CertificateAuthority.Hosting;

public sealed class OperatorAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>SHA-256 of the operator token (the token itself is not kept after start).</summary>
    public byte[] TokenHash { get; set; } = [];
}

/// <summary>
/// The operator API (revocation, join tokens, rollover) is for people and the AppHost, not workloads: a bearer token
/// from a secret parameter, compared in constant time.
/// </summary>
public sealed class OperatorAuthenticationHandler(IOptionsMonitor<OperatorAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<OperatorAuthenticationOptions>(options, logger, encoder)
{
    public const string SchemeName = "CaOperator";
    public const string Policy = "ca-operator";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        if (Options.TokenHash.Length == 0 || !CryptographicOperations.FixedTimeEquals(presented, Options.TokenHash))
        {
            Logger.LogWarning("Rejected operator token");
            return Task.FromResult(AuthenticateResult.Fail("invalid operator token"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator"), new Claim(ClaimTypes.Role, "ca-operator")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
