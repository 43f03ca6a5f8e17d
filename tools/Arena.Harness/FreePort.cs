using System.Net;
using System.Net.Sockets;

namespace Arena.Harness;

/// <summary>Loopback ports nothing listens on.</summary>
public static class FreePort
{
    /// <summary>A port the system hands out as free.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Free ports whose cluster bus port (port + 10000) is free too, for the nodes of a Redis Cluster.</summary>
    public static int[] WithBusPorts(int count)
    {
        var ports = new List<int>();
        for (var port = Random.Shared.Next(20_000, 40_000); ports.Count < count; port++)
        {
            if (IsFree(port) && IsFree(port + 10_000))
            {
                ports.Add(port);
            }
        }
        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
