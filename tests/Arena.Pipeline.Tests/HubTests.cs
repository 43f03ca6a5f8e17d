using Arena.Contracts;
using Arena.SseGateway;

namespace Arena.Pipeline.Tests;

/// <summary>The gateway's fan-out, in process: bounded buffers and the hand-over point.</summary>
public sealed class HubTests
{
    private static LiveEvent Event(long ms) => new(0, new StreamId(ms, 0), "run", "turn_start", "{}", 0);

    private static List<StreamId> Drain(Subscriber subscriber)
    {
        var ids = new List<StreamId>();
        while (subscriber.Events.TryRead(out var e))
        {
            ids.Add(e.Id);
        }
        return ids;
    }

    [Fact]
    public void A_slow_subscriber_is_cut_off_when_its_buffer_overflows_and_others_are_not()
    {
        var hub = new Hub();
        hub.Start(0, StreamId.Zero);
        var (fast, _) = hub.Subscribe(0, _ => true, capacity: 16);
        var (slow, _) = hub.Subscribe(0, _ => true, capacity: 16);

        hub.Dispatch(0, [.. Enumerable.Range(1, 10).Select(i => Event(i))]);
        var fastFirst = Drain(fast);
        hub.Dispatch(0, [.. Enumerable.Range(11, 10).Select(i => Event(i))]);

        Assert.False(fast.Overflowed);
        Assert.Equal(20, fastFirst.Count + Drain(fast).Count);
        Assert.True(slow.Overflowed);
        // What it buffered is still delivered, then its stream ends: the client resumes from its last id.
        Assert.Equal(Enumerable.Range(1, 16).Select(i => new StreamId(i, 0)), Drain(slow));
        Assert.True(slow.Events.Completion.IsCompleted);
    }

    [Fact]
    public void Subscribing_returns_the_last_dispatched_id_and_delivers_only_what_follows()
    {
        var hub = new Hub();
        hub.Start(0, new StreamId(5, 0));
        hub.Dispatch(0, [Event(6), Event(7)]);

        var (subscriber, upTo) = hub.Subscribe(0, e => e.RunId == "run", capacity: 16);
        hub.Dispatch(0, [Event(8)]);

        Assert.Equal(new StreamId(7, 0), upTo);
        Assert.Equal([new StreamId(8, 0)], Drain(subscriber));
    }
}
