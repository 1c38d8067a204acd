namespace Gateway.Yarp.Waf;

/// <summary>
/// Optional observer of WAF blocks (resolved per request; none registered = nothing happens). The gateway uses it to
/// send repeated blocks from one address to the audit log without coupling the WAF to Redis or SyncManager.
/// </summary>
public interface IWafBlockListener
{
    void OnBlocked(HttpContext context, WafResult result);
}
