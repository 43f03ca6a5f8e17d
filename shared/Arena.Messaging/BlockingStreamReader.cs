using Arena.Contracts;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// Reads a stream with <c>XREAD BLOCK</c>: Redis answers as soon as an entry is added, in the
/// same reply cycle as the writer's own answer. StackExchange.Redis pipelines every command
/// of a multiplexer on one connection per server, so a blocked read would stall the others:
/// this reader has a multiplexer of its own, for this one read at a time.
/// </summary>
public sealed class BlockingStreamReader : IAsyncDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly long _blockMs;

    private BlockingStreamReader(IConnectionMultiplexer redis, TimeSpan block) => (_redis, _blockMs) = (redis, (long)block.TotalMilliseconds);

    /// <param name="block">The longest a read waits for an entry before it returns none.</param>
    public static async Task<BlockingStreamReader> ConnectAsync(string configuration, string clientName, TimeSpan block, ILogger logger)
    {
        var options = RedisConnection.Options(configuration, clientName);
        // A read is answered after at most the block time: only a longer silence is a timeout.
        options.AsyncTimeout = Math.Max(options.AsyncTimeout, (int)block.TotalMilliseconds + 5_000);
        return new BlockingStreamReader(await RedisConnection.ConnectAsync(options, logger), block);
    }

    /// <summary>Up to <paramref name="count"/> entries after <paramref name="after"/>, waiting for the first up to the block time; none if none came.</summary>
    public async Task<StreamEntry[]> ReadAsync(RedisKey stream, StreamId after, int count)
    {
        var reply = await _redis.GetDatabase().ExecuteAsync("XREAD", "COUNT", count, "BLOCK", _blockMs, "STREAMS", stream, after.ToString());
        return Entries(reply);
    }

    /// <summary>The entries of an XREAD reply for one stream: a map of the stream to its entries (RESP3) or a list of one [stream, entries] pair (RESP2); null when none came.</summary>
    internal static StreamEntry[] Entries(RedisResult reply)
    {
        if (reply.IsNull)
        {
            return [];
        }
        var streams = (RedisResult[])reply!;
        var entries = (RedisResult[])(reply.Resp3Type == ResultType.Map ? streams[1] : ((RedisResult[])streams[0]!)[1])!;
        var result = new StreamEntry[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = (RedisResult[])entries[i]!;
            var fields = (RedisResult[])entry[1]!;
            var values = new NameValueEntry[fields.Length / 2];
            for (var f = 0; f < values.Length; f++)
            {
                values[f] = new NameValueEntry((RedisValue)fields[2 * f], (RedisValue)fields[2 * f + 1]);
            }
            result[i] = new StreamEntry((RedisValue)entry[0], values);
        }
        return result;
    }

    public ValueTask DisposeAsync() => _redis.DisposeAsync();
}
