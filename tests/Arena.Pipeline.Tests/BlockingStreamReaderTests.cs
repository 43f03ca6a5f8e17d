using Arena.Contracts;
using Arena.Messaging;
using Arena.Pipeline.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>XREAD BLOCK on its own connection, against a real Redis, in both protocols.</summary>
public sealed class BlockingStreamReaderTests(ITestOutputHelper output) : PipelineTest(output)
{
    private static readonly RedisKey Stream = StreamKeys.Events(0);

    private Task<BlockingStreamReader> ReaderAsync(string protocol, TimeSpan block) =>
        BlockingStreamReader.ConnectAsync($"{Redis.Configuration},protocol={protocol}", "reader-test", block, NullLogger.Instance);

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public async Task Read_returns_the_entries_after_an_id_with_their_fields_in_order(string protocol)
    {
        var first = await Db.StreamAddAsync(Stream, [new("run_id", "r-1"), new("envelope", "{\"a\":\"x y\"}")]);
        var second = await Db.StreamAddAsync(Stream, [new("empty", "")]);
        var third = await Db.StreamAddAsync(Stream, [new("n", 3)]);
        await using var reader = await ReaderAsync(protocol, TimeSpan.FromMilliseconds(200));

        var all = await reader.ReadAsync(Stream, StreamId.Zero, 10);
        var afterFirst = await reader.ReadAsync(Stream, StreamId.Parse(first.ToString()), 1);

        Assert.Equal([first, second, third], all.Select(e => e.Id));
        Assert.Equal([new NameValueEntry("run_id", "r-1"), new NameValueEntry("envelope", "{\"a\":\"x y\"}")], all[0].Values);
        Assert.Equal([new NameValueEntry("empty", "")], all[1].Values);
        Assert.Equal("3", all[2]["n"]);
        Assert.Equal(second, Assert.Single(afterFirst).Id);
    }

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public async Task Read_with_nothing_new_returns_none_after_the_block_time(string protocol)
    {
        var last = await Db.StreamAddAsync(Stream, [new("n", 1)]);
        await using var reader = await ReaderAsync(protocol, TimeSpan.FromMilliseconds(100));

        Assert.Empty(await reader.ReadAsync(Stream, StreamId.Parse(last.ToString()), 10));
        Assert.Empty(await reader.ReadAsync(StreamKeys.Events(1), StreamId.Zero, 10));
    }

    [Fact]
    public async Task Waiting_read_returns_as_soon_as_an_entry_is_added_while_the_shared_connection_stays_free()
    {
        var last = await Db.StreamAddAsync(Stream, [new("n", 1)]);
        await using var reader = await ReaderAsync("resp3", TimeSpan.FromSeconds(30));

        var waiting = reader.ReadAsync(Stream, StreamId.Parse(last.ToString()), 10);
        await Wait.UntilAsync(async () => (await Redis.CliAsync("CLIENT", "LIST")).Contains("cmd=xread", StringComparison.Ordinal), "the read to block");
        Assert.False(waiting.IsCompleted);
        var added = await Db.StreamAddAsync(Stream, [new("n", 2)]);

        Assert.Equal(added, Assert.Single(await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Id);
    }
}
