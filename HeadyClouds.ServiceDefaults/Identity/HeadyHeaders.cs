namespace HeadyClouds.ServiceDefaults.Identity;

public static class HeadyHeaders
{
    /// <summary>Carries the signed <see cref="IdentityAssertion"/>. The gateway strips any copy a client sends.</summary>
    public const string Identity = "X-Heady-Identity";

    /// <summary>Every header with this prefix is reserved for the platform and removed at the edge.</summary>
    public const string ReservedPrefix = "X-Heady-";
}
