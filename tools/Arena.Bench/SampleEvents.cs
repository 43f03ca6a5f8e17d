using System.Text.Json;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Simulator;
using StackExchange.Redis;

namespace Arena.Bench;

/// <summary>An event as ingest stores it: its canonical envelope (minified, <c>event_id</c> first).</summary>
public sealed record SampleEvent(string EventId, string RunId, long Seq, string Type, int SchemaVersion, DateTimeOffset Ts, byte[] Envelope)
{
    /// <summary>The fields of its stream entry, exactly as ingest writes them (accepted at <see cref="Ts"/>, untraced).</summary>
    public NameValueEntry[] EntryFields() => StreamEntries.Fields(EventId, RunId, Type, Envelope, Ts.ToUnixTimeMilliseconds());
}

public static class SampleEvents
{
    /// <summary>
    /// The first <paramref name="count"/> events of seeded simulated matches: every event type
    /// in the proportions of a match, each envelope distinct, ~300 bytes on average.
    /// </summary>
    public static SampleEvent[] Create(int count)
    {
        var random = new Random(1);
        var start = DateTimeOffset.UtcNow;
        return [.. Enumerable.Range(0, int.MaxValue)
            .SelectMany(game => new SimulatedMatch(random, SimulatedMatch.DefaultModels, game, start).Batches().SelectMany(batch => batch))
            .Take(count)
            .Select(e => new SampleEvent(e.EventId!, e.RunId, e.Seq, e.Type, e.SchemaVersion, e.Ts,
                JsonSerializer.SerializeToUtf8Bytes(e, ArenaJson.Default.Envelope)))];
    }
}
