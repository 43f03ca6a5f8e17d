using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Arena.Messaging;
using Arena.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>
/// A group member run in-process through the shipped runtime (<see cref="ConsumerPipeline"/>), with a
/// handler that records every delivery it sees and fails the entries it is told to.
/// </summary>
public sealed class TestConsumer : IAsyncDisposable
{
    public static readonly IMeterFactory Meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private TestConsumer(IConnectionMultiplexer redis, ConsumerOptions options, int partitions, Func<StreamMessage, MessageOutcome>? decide)
    {
        Options = options;
        Health = new LoopHealth(TimeProvider.System);
        var metrics = new ConsumerMetrics(Meters);
        BatchHandler handler = (batch, _) =>
        {
            Batches.Enqueue(batch.Count);
            var outcomes = new List<MessageOutcome>(batch.Count);
            foreach (var message in batch)
            {
                Deliveries.Enqueue((message.Entry.Id.ToString(), message.Deliveries));
                outcomes.Add(decide?.Invoke(message) ?? MessageOutcome.Ack);
            }
            // Effects count only for a batch the handler completed, as a transaction would.
            for (var i = 0; i < batch.Count; i++)
            {
                if (outcomes[i].Kind == OutcomeKind.Ack)
                {
                    Handled.AddOrUpdate(batch[i].Entry.Id.ToString(), 1, (_, n) => n + 1);
                }
            }
            return ValueTask.FromResult<IReadOnlyList<MessageOutcome>>(outcomes);
        };
        // The shipped pipeline, as the service host assembles it, around this recording handler.
        var consumer = ConsumerPipeline.Create(redis, options, partitions, handler, ErrorPolicy.Default, metrics, Health, TimeProvider.System,
            NullLogger.Instance);
        _run = Task.Run(() => consumer.RunAsync(_stop.Token));
    }

    public ConsumerOptions Options { get; }
    public LoopHealth Health { get; }

    /// <summary>Entries whose handling succeeded, with how many times.</summary>
    public ConcurrentDictionary<string, int> Handled { get; } = new();

    /// <summary>The size of every batch handed to the handler, in order.</summary>
    public ConcurrentQueue<int> Batches { get; } = new();

    /// <summary>Every delivery: entry ID and the delivery count the runtime reported.</summary>
    public ConcurrentQueue<(string Id, long Deliveries)> Deliveries { get; } = new();

    public static TestConsumer Start(IConnectionMultiplexer redis, string group, string name,
        Func<StreamMessage, MessageOutcome>? decide = null, Action<ConsumerOptions>? configure = null, int partitions = 1)
    {
        var options = new ConsumerOptions
        {
            Group = group,
            ConsumerName = name,
            BatchSize = 100,
            IdlePoll = TimeSpan.FromMilliseconds(50),
            ClaimInterval = TimeSpan.FromMilliseconds(200),
            ClaimMinIdle = TimeSpan.FromMilliseconds(500),
            MaxBackoff = TimeSpan.FromMilliseconds(500),
        };
        configure?.Invoke(options);
        return new TestConsumer(redis, options, partitions, decide);
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _run;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }
        _stop.Dispose();
    }
}
