using HeadyClouds.Backup.Sources;

namespace HeadyClouds.Backup.Tests;

/// <summary>pg_dump/pg_restore get the connection through PG* variables; TLS settings must survive the translation.</summary>
public sealed class PostgresEnvironmentTests
{
    [Fact]
    public void Verify_full_with_the_internal_CA_bundle_reaches_libpq()
    {
        var environment = Postgres.Environment("Host=127.0.0.1;Port=5433;Username=postgres;Password=pw;Database=headyme;SSL Mode=VerifyFull;Root Certificate=/var/tmp/headyclouds/ca/trust-bundle.pem");

        Assert.Equal("verify-full", environment["PGSSLMODE"]);
        Assert.Equal("/var/tmp/headyclouds/ca/trust-bundle.pem", environment["PGSSLROOTCERT"]);
        Assert.Equal("127.0.0.1", environment["PGHOST"]);
        Assert.Equal("5433", environment["PGPORT"]);
        Assert.Equal("headyme", environment["PGDATABASE"]);
    }

    [Fact]
    public void Without_a_root_certificate_libpq_keeps_its_own_default()
    {
        var environment = Postgres.Environment("Host=127.0.0.1;Username=postgres;Password=pw;Database=x");

        Assert.False(environment.ContainsKey("PGSSLROOTCERT"));
        Assert.Equal("prefer", environment["PGSSLMODE"]);
    }
}
