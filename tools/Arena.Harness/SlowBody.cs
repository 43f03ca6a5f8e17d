using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Arena.Harness;

/// <param name="Status">The status the server answered, or null when it closed the connection without one.</param>
/// <param name="Cut">Whether the server ended the request before the client gave up.</param>
/// <param name="After">From the end of the headers to the server's answer or close.</param>
public sealed record SlowBodyOutcome(int? Status, bool Cut, TimeSpan After);

/// <summary>
/// A client that sends a request's headers at once and then its body a byte at a time, far
/// below any sane data rate: a slow-loris attacker, or a producer whose link has stalled.
/// The hostile-input tests and the soak both send it.
/// </summary>
public static class SlowBody
{
    /// <param name="headersSent">Called once the headers are on the wire.</param>
    public static async Task<SlowBodyOutcome> SendAsync(int port, string head, byte[] body, TimeSpan byteInterval, TimeSpan giveUp, Action? headersSent = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var wire = client.GetStream();
        await wire.WriteAsync(Encoding.ASCII.GetBytes(head.ReplaceLineEndings("\r\n") + "\r\n"));
        var clock = Stopwatch.StartNew();
        headersSent?.Invoke();

        var answer = ReadStatusAsync(wire);
        for (var sent = 0; !answer.IsCompleted && sent < body.Length && clock.Elapsed < giveUp; sent++)
        {
            try
            {
                await wire.WriteAsync(body.AsMemory(sent, 1));
            }
            catch (IOException)
            {
                break;
            }
            // The pace of the attack, not a wait for the server: the answer ends it early.
            await Task.WhenAny(answer, Task.Delay(byteInterval));
        }
        if (!answer.IsCompleted && clock.Elapsed >= giveUp)
        {
            return new SlowBodyOutcome(null, false, clock.Elapsed);
        }
        var status = await answer.WaitAsync(TimeSpan.FromSeconds(10));
        return new SlowBodyOutcome(status, true, clock.Elapsed);
    }

    /// <summary>The status of the server's answer, or null when the connection closes (or resets) first.</summary>
    private static async Task<int?> ReadStatusAsync(NetworkStream wire)
    {
        var received = new MemoryStream();
        var buffer = new byte[1024];
        try
        {
            while (received.Length < "HTTP/1.1 408".Length)
            {
                var read = await wire.ReadAsync(buffer);
                if (read == 0)
                {
                    return null;
                }
                received.Write(buffer, 0, read);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return null;
        }
        return int.Parse(Encoding.ASCII.GetString(received.ToArray(), "HTTP/1.1 ".Length, 3), CultureInfo.InvariantCulture);
    }
}
