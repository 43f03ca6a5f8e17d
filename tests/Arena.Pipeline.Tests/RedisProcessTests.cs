using System.Globalization;
using Arena.Harness;
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
            var rewrite = 0;
            await Wait.UntilAsync(() => (rewrite = ProcFs.ChildrenOf(redis.ProcessId).FirstOrDefault()) > 0, "the AOF rewrite's fork to start");

            disposed = true;
            await redis.DisposeAsync();

            Assert.False(Directory.Exists(dir));
            // Killed with its parent, not left to write into a folder that is gone: exited, or a zombie awaiting its reaper.
            var state = ProcFs.State(rewrite);
            Assert.True(state is null or 'Z', $"the rewrite {rewrite} is still in state {state}");
        }
        finally
        {
            if (!disposed)
            {
                await redis.DisposeAsync();
            }
        }
    }
}
