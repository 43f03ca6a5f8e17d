using System.Net;
using System.Net.Sockets;

namespace Arena.Harness;

/// <summary>
/// An HTTP client whose connections come from a chosen loopback address (127.0.0.2, …), so a
/// service that counts clients by address sees another client on the same machine.
/// </summary>
public static class FromAddress
{
    public static HttpClient Client(IPAddress local, Uri baseAddress) =>
        new(new SocketsHttpHandler { ConnectCallback = Connect(local) }) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };

    private static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connect(IPAddress local) => async (context, cancel) =>
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(local, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancel);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    };
}
