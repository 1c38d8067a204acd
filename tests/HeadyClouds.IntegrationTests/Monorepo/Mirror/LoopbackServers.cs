using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HeadyClouds.IntegrationTests.Monorepo.Mirror;

/// <summary>A loopback TCP server that accepts connections and never answers: git waits on it until it is killed.</summary>
public sealed class SilentServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentBag<Socket> accepted = [];
    private readonly TaskCompletionSource<Socket> first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task loop;

    public SilentServer()
    {
        listener.Start();
        loop = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public Task<Socket> FirstConnection => first.Task;

    /// <summary>True when the peer (git) closes the connection within <paramref name="within"/>, i.e. the process is gone.</summary>
    public static async Task<bool> ClosedByPeerAsync(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        foreach (var socket in accepted)
        {
            socket.Dispose();
        }

        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var socket = await listener.AcceptSocketAsync(stop.Token);
            accepted.Add(socket);
            first.TrySetResult(socket);
        }
    }
}

/// <summary>
/// A loopback smart-HTTP "git server" that answers every request with a protocol error message echoing the
/// Authorization header it received, the worst case for a credential leaking into git's messages.
/// </summary>
public sealed class EchoingGitHttpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private readonly int? redirectToPort;

    /// <param name="redirectToPort">When set, every request is answered with a 301 to the same path on this loopback port.</param>
    public EchoingGitHttpServer(int? redirectToPort = null)
    {
        this.redirectToPort = redirectToPort;
        listener.Start();
        loop = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Request heads (request line and headers) as received.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        stop.Dispose();
    }

    private static string Pkt(string payload) => $"{Encoding.UTF8.GetByteCount(payload) + 4:x4}{payload}";

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = new StringBuilder();
                var buffer = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 65536)
                {
                    if (await stream.ReadAsync(buffer, stop.Token) == 0)
                    {
                        return;
                    }

                    head.Append((char)buffer[0]);
                }

                var text = head.ToString();
                Requests.Enqueue(text);
                var authorization = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase)) ?? "none";
                var decoded = "none";
                var basic = authorization.LastIndexOf(' ');
                if (basic > 0)
                {
                    try
                    {
                        decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[(basic + 1)..]));
                    }
                    catch (FormatException)
                    {
                    }
                }

                if (redirectToPort is { } port)
                {
                    var path = text.Split(' ', 3)[1];
                    var redirect = $"HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:{port}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(redirect), stop.Token);
                    return;
                }

                var service = text.Contains("git-receive-pack", StringComparison.Ordinal) ? "git-receive-pack" : "git-upload-pack";
                var body = Pkt($"# service={service}\n") + "0000" + Pkt($"ERR access denied for {decoded} (header {authorization.Trim()})\n");
                var response = $"HTTP/1.1 200 OK\r\nContent-Type: application/x-{service}-advertisement\r\nCache-Control: no-cache\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
                await stream.WriteAsync(Encoding.UTF8.GetBytes(response), stop.Token);
            }
            catch (IOException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
