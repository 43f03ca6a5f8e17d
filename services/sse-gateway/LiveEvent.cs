using System.Threading.Channels;
using Arena.Contracts;

namespace Arena.SseGateway;

/// <summary>One stream entry ready to send: its ID, type, run and the envelope with its <c>stream_id</c>.</summary>
public sealed record LiveEvent(int Partition, StreamId Id, string RunId, string Type, string Data, long IngestedAtMs);

/// <summary>A connected client: the events it wants, and a bounded buffer it must keep up with.</summary>
public sealed class Subscriber(Func<LiveEvent, bool> wants, int capacity)
{
    private readonly Channel<LiveEvent> _events = Channel.CreateBounded<LiveEvent>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    public ChannelReader<LiveEvent> Events => _events.Reader;

    /// <summary>Set when the buffer overflowed: the client is disconnected and resumes from its last id.</summary>
    public bool Overflowed { get; private set; }

    public bool Wants(LiveEvent e) => wants(e);

    public void Offer(LiveEvent e)
    {
        if (!Overflowed && !_events.Writer.TryWrite(e))
        {
            Overflowed = true;
            _events.Writer.TryComplete();
        }
    }
}
