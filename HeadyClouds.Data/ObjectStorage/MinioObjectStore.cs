using System.Runtime.CompilerServices;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;

namespace HeadyClouds.Data.ObjectStorage;

/// <summary><see cref="IObjectStore"/> on the Minio SDK: the same code against MinIO and against s3rver.</summary>
public sealed class MinioObjectStore(IMinioClient client) : IObjectStore
{
    public static IMinioClient CreateClient(ObjectStoreSettings settings) =>
        new MinioClient()
            .WithEndpoint(settings.Endpoint.Host, settings.Endpoint.Port)
            .WithSSL(settings.Endpoint.Scheme == "https")
            .WithCredentials(settings.AccessKey, settings.SecretKey)
            .Build();

    public async Task EnsureBucketAsync(string bucket, CancellationToken ct)
    {
        if (!await BucketExistsAsync(bucket, ct))
        {
            await client.MakeBucketAsync(new MakeBucketArgs().WithBucket(bucket), ct);
        }
    }

    public Task<bool> BucketExistsAsync(string bucket, CancellationToken ct) =>
        client.BucketExistsAsync(new BucketExistsArgs().WithBucket(bucket), ct);

    public async Task PutAsync(string bucket, string key, Stream content, long size, CancellationToken ct) =>
        await client.PutObjectAsync(new PutObjectArgs()
            .WithBucket(bucket)
            .WithObject(key)
            .WithStreamData(content)
            .WithObjectSize(size)
            .WithContentType("application/octet-stream"), ct);

    public async Task<bool> TryGetAsync(string bucket, string key, Stream destination, CancellationToken ct)
    {
        try
        {
            await client.GetObjectAsync(new GetObjectArgs()
                .WithBucket(bucket)
                .WithObject(key)
                .WithCallbackStream((stream, token) => stream.CopyToAsync(destination, token)), ct);
            return true;
        }
        catch (ObjectNotFoundException)
        {
            return false;
        }
    }

    public async Task<StoredObject?> StatAsync(string bucket, string key, CancellationToken ct)
    {
        try
        {
            var stat = await client.StatObjectAsync(new StatObjectArgs().WithBucket(bucket).WithObject(key), ct);
            return new StoredObject(stat.ObjectName, stat.Size);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        var args = new ListObjectsArgs().WithBucket(bucket).WithPrefix(prefix).WithRecursive(true);
        await foreach (var item in client.ListObjectsEnumAsync(args, ct))
        {
            if (!item.IsDir)
            {
                yield return new StoredObject(item.Key, (long)item.Size);
            }
        }
    }

    public Task DeleteAsync(string bucket, string key, CancellationToken ct) =>
        client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(bucket).WithObject(key), ct);
}
