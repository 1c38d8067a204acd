namespace HeadyClouds.AppHost.DataTier;

/// <summary>PostgreSQL 15 run by <c>eng/local/postgres.sh</c> (initdb on first run, then the server in the foreground).
/// With <see cref="RootCertificatePath"/> (the internal CA's bundle), TCP is TLS only and clients verify the server
/// against that bundle and the host name (verify-full).</summary>
public sealed class LocalPostgresResource(string name, string command, string workingDirectory, int port, ParameterResource password, string? rootCertificatePath)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public int Port { get; } = port;

    public ParameterResource Password { get; } = password;

    public string? RootCertificatePath { get; } = rootCertificatePath;

    public ReferenceExpression ConnectionStringExpression => RootCertificatePath is null
        ? ReferenceExpression.Create($"Host=127.0.0.1;Port={Port.ToString(System.Globalization.CultureInfo.InvariantCulture)};Username=postgres;Password={Password}")
        : ReferenceExpression.Create($"Host=127.0.0.1;Port={Port.ToString(System.Globalization.CultureInfo.InvariantCulture)};Username=postgres;Password={Password};SSL Mode=VerifyFull;Root Certificate={RootCertificatePath}");
}

/// <summary>One service's database on the local PostgreSQL; the service's migration step creates it.</summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresResource>, IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;

    public LocalPostgresResource Parent { get; } = parent;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

/// <summary>
/// redis-server run by <c>eng/local/redis.sh</c>: password required, no persistence. With <see cref="Tls"/>, TLS 1.3
/// only and a client certificate of the internal CA required (clients: <c>MeshRedis</c> in ServiceDefaults).
/// </summary>
public sealed class LocalRedisResource(string name, string command, string workingDirectory, int port, ParameterResource password, bool tls)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public int Port { get; } = port;

    public ParameterResource Password { get; } = password;

    public bool Tls { get; } = tls;

    public ReferenceExpression ConnectionStringExpression => Tls
        ? ReferenceExpression.Create($"127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)},password={Password},ssl=true")
        : ReferenceExpression.Create($"127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)},password={Password}");
}

/// <summary>The S3-compatible object store: s3rver (npm) run by <c>eng/s3rver/server.js</c>.</summary>
public sealed class LocalObjectStoreResource(string name, string command, string workingDirectory, int port, ParameterResource user, ParameterResource password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public int Port { get; } = port;

    public ParameterResource User { get; } = user;

    public ParameterResource Password { get; } = password;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Endpoint=http://127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)};AccessKey={User};SecretKey={Password}");
}

/// <summary>MinIO as a container (containers mode), with its root credentials as secret parameters.</summary>
public sealed class MinioContainerResource(string name, ParameterResource user, ParameterResource password)
    : ContainerResource(name), IResourceWithConnectionString
{
    public const string HttpEndpointName = "http";

    public ParameterResource User { get; } = user;

    public ParameterResource Password { get; } = password;

    public EndpointReference Endpoint => new(this, HttpEndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Endpoint={Endpoint.Property(EndpointProperty.Url)};AccessKey={User};SecretKey={Password}");
}
