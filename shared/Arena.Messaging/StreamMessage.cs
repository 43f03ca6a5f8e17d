using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>One stream entry handed to a handler, with how often Redis has delivered it.</summary>
public sealed class StreamMessage(int partition, string stream, StreamEntry entry, StreamId id, long deliveries)
{
    public int Partition { get; } = partition;
    public string Stream { get; } = stream;
    public StreamId Id { get; } = id;
    public StreamEntry Entry { get; } = entry;

    /// <summary>Deliveries so far, this one included, as Redis counts them (XPENDING).</summary>
    public long Deliveries { get; } = deliveries;

    public RedisValue this[string field] => Entry[field];
}

public enum OutcomeKind
{
    /// <summary>Done; the effect is durable. Acknowledge.</summary>
    Ack,
    /// <summary>Failed this time; leave it pending. It is delivered again and counts towards MaxDeliveries.</summary>
    Retry,
    /// <summary>Can never succeed; dead-letter it now with the reason.</summary>
    DeadLetter,
}

/// <summary>What a handler decided for one message; the runtime turns it into acks and dead letters.</summary>
public readonly record struct MessageOutcome(OutcomeKind Kind, string? Reason = null)
{
    public static MessageOutcome Ack { get; } = new(OutcomeKind.Ack);
    public static MessageOutcome Retry(string reason) => new(OutcomeKind.Retry, reason);
    public static MessageOutcome DeadLetter(string reason) => new(OutcomeKind.DeadLetter, reason);
}

/// <summary>
/// Handles a batch and returns one outcome per message, in order. Throwing an exception the
/// consumer classifies as transient (Redis, disk) pauses and retries the batch without a
/// redelivery; any other exception fails the messages that cause it (<see cref="OutcomeKind.Retry"/>),
/// found by handling the batch again one message at a time.
/// </summary>
public delegate ValueTask<IReadOnlyList<MessageOutcome>> BatchHandler(IReadOnlyList<StreamMessage> batch, CancellationToken cancellationToken);

/// <summary>Behaviour around a handler: retry, dead-letter, tracing, metrics.</summary>
public delegate BatchHandler Middleware(BatchHandler next);

/// <summary>A service's handler, resolved from DI.</summary>
public interface IBatchHandler
{
    ValueTask<IReadOnlyList<MessageOutcome>> HandleAsync(IReadOnlyList<StreamMessage> batch, CancellationToken cancellationToken);
}
