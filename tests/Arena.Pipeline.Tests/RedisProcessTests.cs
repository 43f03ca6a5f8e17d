using System.Globalization;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>The harness's own <c>redis-server</c>: disposing it leaves nothing of it behind.</summary>
public sealed class RedisProcessTests
{
    [Fact]
    public async Task Disposing_a_server_mid_rewrite_stops_the_rewrite_and_removes_its_folder()
    {
        var redis = await RedisProcess.StartAsync("always", null, "--auto-aof-rewrite-percentage", "0");
        var dir = redis.Dir;
        var disposed = false;
        try
        {
            // About 100 MB, so that the rewrite's fork is still writing its file when the server is disposed.
            var db = redis.Client.GetDatabase();
            var value = new string('x', 1_000);
            await Task.WhenAll(Enumerable.Range(0, 100_000).Select(i => db.StringSetAsync(string.Create(CultureInfo.InvariantCulture, $"k{i}"), value)));
            await redis.CliAsync("BGREWRITEAOF");
            int? rewrite = null;
            await Wait.UntilAsync(() => (rewrite = RewriteOf(redis.Port)) is not null, "the AOF rewrite's fork to start");

            disposed = true;
            await redis.DisposeAsync();

            Assert.False(Directory.Exists(dir));
            // Killed with its parent, not left to write into a folder that is gone: exited, or a zombie awaiting its reaper.
            var stat = $"/proc/{rewrite}/stat";
            Assert.True(!File.Exists(stat) || ProcessState(File.ReadAllText(stat)) == 'Z', $"the rewrite {rewrite} still runs: {(File.Exists(stat) ? File.ReadAllText(stat) : "")}");
        }
        finally
        {
            if (!disposed)
            {
                await redis.DisposeAsync();
            }
        }
    }

    /// <summary>The process id of the AOF rewrite forked by the server on <paramref name="port"/> (Redis titles it <c>redis-aof-rewrite 127.0.0.1:port</c>).</summary>
    private static int? RewriteOf(int port)
    {
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(proc), CultureInfo.InvariantCulture, out var pid))
            {
                try
                {
                    var cmdline = File.ReadAllText(Path.Combine(proc, "cmdline"));
                    if (cmdline.StartsWith("redis-aof-rewrite", StringComparison.Ordinal) && cmdline.Contains(string.Create(CultureInfo.InvariantCulture, $":{port}"), StringComparison.Ordinal))
                    {
                        return pid;
                    }
                }
                catch (IOException)
                {
                    // Gone while we looked.
                }
            }
        }
        return null;
    }

    /// <summary>The state letter of <c>/proc/pid/stat</c>, after the command name in parentheses.</summary>
    private static char ProcessState(string stat) => stat[(stat.LastIndexOf(')') + 2)..][0];
}
