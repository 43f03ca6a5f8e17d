using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Arena.Bench;

/// <summary>
/// A redis-server of the benchmarks' own: a free loopback port, a temp folder, no persistence
/// (<c>--save "" --appendonly no</c>). Disposing kills it and removes the folder.
/// </summary>
public sealed class ThrowawayRedis : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private ThrowawayRedis(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public static async Task<ThrowawayRedis> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("arena-bench-redis-").FullName;
        var port = FreeLoopbackPort();
        var start = new ProcessStartInfo("redis-server")
        {
            ArgumentList =
            {
                "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--dir", dir,
                "--save", "", "--appendonly", "no", "--logfile", Path.Combine(dir, "redis.log"),
            },
            UseShellExecute = false,
        };
        var redis = new ThrowawayRedis(Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start"), dir, port);
        try
        {
            await redis.WaitUntilListeningAsync(TimeSpan.FromSeconds(10));
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    private async Task WaitUntilListeningAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (!_process.HasExited && deadline.Elapsed < timeout)
            {
                await Task.Delay(20);
            }
            catch (SocketException e)
            {
                var log = Path.Combine(_dir, "redis.log");
                throw new InvalidOperationException(
                    $"redis-server is not listening on 127.0.0.1:{Port}: {(File.Exists(log) ? File.ReadAllText(log) : e.Message)}", e);
            }
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
