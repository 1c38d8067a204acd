using System.Text;
using HeadyClouds.Testing;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;

namespace HeadyClouds.IntegrationTests.DataTier;

/// <summary>The Minio SDK the services use, against the real S3-compatible store of HEADY_TEST_S3.</summary>
public sealed class ObjectStoreTests
{
    [Fact]
    public async Task BucketAndObjectLifecycle()
    {
        using var client = Client(TestServers.S3);
        var bucket = "it-" + Guid.NewGuid().ToString("N")[..16];
        var payload = Encoding.UTF8.GetBytes("chunk payload ✓ " + Guid.NewGuid());

        await client.MakeBucketAsync(new MakeBucketArgs().WithBucket(bucket));
        Assert.True(await client.BucketExistsAsync(new BucketExistsArgs().WithBucket(bucket)));

        foreach (var key in new[] { "chunks/a/1.bin", "chunks/a/2.bin", "chunks/b/1.bin", "other/1.bin" })
        {
            using var stream = new MemoryStream(payload);
            await client.PutObjectAsync(new PutObjectArgs()
                .WithBucket(bucket).WithObject(key)
                .WithStreamData(stream).WithObjectSize(stream.Length)
                .WithContentType("application/octet-stream"));
        }

        var stat = await client.StatObjectAsync(new StatObjectArgs().WithBucket(bucket).WithObject("chunks/a/1.bin"));
        Assert.Equal(payload.Length, stat.Size);
        Assert.Equal("application/octet-stream", stat.ContentType);
        Assert.False(string.IsNullOrEmpty(stat.ETag));

        using var read = new MemoryStream();
        await client.GetObjectAsync(new GetObjectArgs().WithBucket(bucket).WithObject("chunks/a/1.bin")
            .WithCallbackStream(async (s, ct) => await s.CopyToAsync(read, ct)));
        Assert.Equal(payload, read.ToArray());

        var listed = new List<string>();
        await foreach (var item in client.ListObjectsEnumAsync(new ListObjectsArgs().WithBucket(bucket).WithPrefix("chunks/a/").WithRecursive(true)))
        {
            listed.Add(item.Key);
        }

        Assert.Equal(["chunks/a/1.bin", "chunks/a/2.bin"], listed);

        foreach (var key in new[] { "chunks/a/1.bin", "chunks/a/2.bin", "chunks/b/1.bin", "other/1.bin" })
        {
            await client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(bucket).WithObject(key));
        }

        await Assert.ThrowsAnyAsync<MinioException>(() => client.StatObjectAsync(new StatObjectArgs().WithBucket(bucket).WithObject("chunks/a/1.bin")));
        var remaining = new List<string>();
        await foreach (var item in client.ListObjectsEnumAsync(new ListObjectsArgs().WithBucket(bucket).WithRecursive(true)))
        {
            remaining.Add(item.Key);
        }

        Assert.Empty(remaining);
        await client.RemoveBucketAsync(new RemoveBucketArgs().WithBucket(bucket));
        Assert.False(await client.BucketExistsAsync(new BucketExistsArgs().WithBucket(bucket)));
    }

    [Fact]
    public async Task WrongSecretKeyIsRefused()
    {
        var s3 = TestServers.S3;
        using var client = Client(s3 with { SecretKey = "wrong-" + Guid.NewGuid().ToString("N") });
        var bucket = "it-" + Guid.NewGuid().ToString("N")[..16];

        var refused = await Record.ExceptionAsync(() => client.MakeBucketAsync(new MakeBucketArgs().WithBucket(bucket)));
        // Minio 7.0.0 reports SignatureDoesNotMatch as AuthorizationException, which is not a MinioException.
        Assert.True(refused is AuthorizationException or MinioException, $"expected an authorization error, got {refused}");

        // Nothing was created: the right key does not find that bucket.
        using var good = Client(s3);
        Assert.False(await good.BucketExistsAsync(new BucketExistsArgs().WithBucket(bucket)));
    }

    private static IMinioClient Client(S3Settings s3) =>
        new MinioClient()
            .WithEndpoint(s3.Endpoint.Host, s3.Endpoint.Port)
            .WithCredentials(s3.AccessKey, s3.SecretKey)
            .WithSSL(s3.Endpoint.Scheme == Uri.UriSchemeHttps)
            .Build();
}
