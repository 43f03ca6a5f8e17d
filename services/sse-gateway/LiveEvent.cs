using System.Threading.Channels;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.SseGateway;

/// <summary>
/// One stream entry ready to send: its ID, type, run and the envelope with its <c>stream_id</c>.
/// The envelope is decoded and framed only when a client first needs it, once, and the
/// frame's bytes are shared by every client that receives it.
/// </summary>
public sealed class LiveEvent
{
    private readonly RedisValue _envelope;
    private readonly string? _producer;
    private readonly string? _data;
    private byte[]? _frame;

    public LiveEvent(int partition, StreamId id, string runId, string type, string data, long ingestedAtMs)
        : this(partition, id, runId, type, RedisValue.Null, null, ingestedAtMs) => _data = data;

    /// <param name="envelope">The stored envelope, as read from the stream.</param>
    /// <param name="producer">The name of the API key it was published with, when known.</param>
    public LiveEvent(int partition, StreamId id, string runId, string type, RedisValue envelope, string? producer, long ingestedAtMs)
    {
        (Partition, Id, RunId, Type, IngestedAtMs) = (partition, id, runId, type, ingestedAtMs);
        (_envelope, _producer) = (envelope, producer);
    }

    public int Partition { get; }
    public StreamId Id { get; }
    public string RunId { get; }
    public string Type { get; }
    public long IngestedAtMs { get; }

    /// <summary>The whole SSE frame as UTF-8.</summary>
    // Computed at most a few times under a race, always to the same value: no lock needed.
    public ReadOnlyMemory<byte> Frame => _frame ??= SseWriter.Utf8Frame(Id.ToString(), Type,
        _data ?? CanonicalEnvelope.WithStreamId(_envelope.ToString(), Id.ToString(), _producer));
}

/// <summary>A connected client: the events it wants, and a bounded buffer it must keep up with.</summary>
/// <param name="wants">A filter over every event; null for a client of one run.</param>
/// <param name="runId">The run of a client of one run, by which the hub finds it.</param>
public sealed class Subscriber(Func<LiveEvent, bool>? wants, int capacity, string? runId = null)
{
    public string? RunId => runId;

    /// <summary>A connected client, counted in the clients gauge; false for the gateway's own readers.</summary>
    public bool IsClient { get; init; } = true;

    private readonly Channel<LiveEvent> _events = Channel.CreateBounded<LiveEvent>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    public ChannelReader<LiveEvent> Events => _events.Reader;

    /// <summary>Set when the buffer overflowed: the client is disconnected and resumes from its last id.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>The filter of a subscriber over every event; a client of one run is handed only its run's events.</summary>
    public bool Wants(LiveEvent e) => wants?.Invoke(e) ?? e.RunId == runId;

    public void Offer(LiveEvent e)
    {
        if (!Overflowed && !_events.Writer.TryWrite(e))
        {
            Overflowed = true;
            _events.Writer.TryComplete();
        }
    }
}
