using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Arena.Pipeline.Tests.HostileInput;

public sealed record RawResponse(int Status, string? ContentType, string Body);

/// <summary>
/// HTTP/1.1 written by hand on a socket, for requests HttpClient refuses to send: a
/// Content-Length that disagrees with the body, broken chunking. One request per connection.
/// </summary>
internal static class RawHttp
{
    public static async Task<RawResponse> SendAsync(int port, string head, byte[] body, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, cancel.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ReplaceLineEndings("\r\n") + "Connection: close\r\n\r\n"), cancel.Token);
        await stream.WriteAsync(body, cancel.Token);
        using var received = new MemoryStream();
        // The server closes the connection after its answer (Connection: close).
        await stream.CopyToAsync(received, cancel.Token);
        return Parse(received.ToArray());
    }

    private static RawResponse Parse(byte[] response)
    {
        var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(split > 0, $"no HTTP response: '{Encoding.UTF8.GetString(response)}'");
        var lines = Encoding.ASCII.GetString(response, 0, split).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        string? Header(string name) => lines.Skip(1).Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            .Select(l => l[(name.Length + 1)..].Trim()).FirstOrDefault();
        var body = response.AsSpan(split + 4);
        return new RawResponse(status, Header("Content-Type"), Encoding.UTF8.GetString(Header("Transfer-Encoding") == "chunked" ? Dechunk(body) : body));
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> chunked)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var end = chunked.IndexOf("\r\n"u8);
            var size = int.Parse(Encoding.ASCII.GetString(chunked[..end]), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return body.ToArray();
            }
            body.Write(chunked.Slice(end + 2, size));
            chunked = chunked[(end + 2 + size + 2)..];
        }
    }
}
