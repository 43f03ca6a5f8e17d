using Arena.Contracts;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// One member of a consumer group, reading every partition: first the entries it already
/// holds (after a restart under the same name), then new ones in batches; periodically it
/// takes over entries left idle by dead consumers (XAUTOCLAIM) and removes consumers that
/// are long gone. The handler's outcomes decide acks and dead letters; the handler never
/// touches Redis acks. While a full batch is handled, the next one is already being read, and
/// batches grow while a backlog lasts, of new entries or of its own pending ones
/// (<see cref="ConsumerOptions.MaxBatchSize"/>).
/// Stopping finishes and acknowledges the batches in hand.
/// </summary>
public sealed class GroupConsumer(
    IConnectionMultiplexer redis,
    ConsumerOptions options,
    int partitions,
    BatchHandler handler,
    ErrorPolicy policy,
    ConsumerMetrics metrics,
    LoopHealth health,
    TimeProvider time,
    ILogger logger)
{
    private readonly string _group = options.Group;
    private readonly KeyValuePair<string, object?> _tag = ConsumerMetrics.GroupTag(options.Group);
    private bool _batchInHand;
    // Per partition: the read of the next batch, started while the previous one is handled, and the entries it asked for.
    private Task<Batch>?[] _ahead = [];
    private int[] _aheadCount = [];
    // Per partition: the entries the next read of the walk through this consumer's own pending entries asks for.
    private int[] _walkCount = [];

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var db = redis.GetDatabase();
        _ahead = new Task<Batch>?[partitions];
        _aheadCount = new int[partitions];
        _walkCount = new int[partitions];
        Array.Fill(_walkCount, options.BatchSize);
        var groupReady = new bool[partitions];
        // Where the walk through this consumer's own pending entries stands; null once done.
        var pendingCursor = new RedisValue?[partitions];
        Array.Fill(pendingCursor, "0");
        var nextClaim = time.GetUtcNow();
        logger.LogInformation("Consuming {Partitions} partition(s) as {Consumer} in group {Group}", partitions, options.ConsumerName, _group);
        metrics.StartGroup(_group);

        async Task<TimeSpan?> RoundAsync(CancellationToken ct)
        {
            var roundAt = time.GetTimestamp();
            var busy = false;
            var found = false;
            for (var p = 0; p < partitions; p++)
            {
                var stream = StreamKeys.Events(p);
                if (!groupReady[p])
                {
                    await EnsureGroupAsync(db, stream);
                    groupReady[p] = true;
                }
                var read = await ReadAsync(db, p, stream, pendingCursor, ct);
                busy |= read == Read.More;
                found |= read == Read.Some;
            }

            if (time.GetUtcNow() >= nextClaim)
            {
                for (var p = 0; p < partitions; p++)
                {
                    await ClaimAsync(db, p, StreamKeys.Events(p), ct);
                    await RemoveDeadConsumersAsync(db, StreamKeys.Events(p));
                }
                nextClaim = time.GetUtcNow() + options.ClaimInterval;
            }
            if (!busy && found && options.Linger > TimeSpan.Zero)
            {
                // More is likely on its way: gather it into the next batches rather than wait for a wake-up.
                var rest = options.Linger - time.GetElapsedTime(roundAt);
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest, time, ct);
                }
                return null;
            }
            var untilClaim = nextClaim - time.GetUtcNow();
            return busy ? null : untilClaim < options.IdlePoll ? Max(untilClaim, TimeSpan.Zero) : options.IdlePoll;
        }

        void OnPause(Exception e)
        {
            if (IsNoGroup(e))
            {
                // The stream or the group was deleted: recreate it, from 0, on the next round.
                Array.Fill(groupReady, false);
            }
            if (_batchInHand)
            {
                // Entries may have been delivered to us and not acknowledged (even a read whose
                // reply was lost delivers): they are still ours, so walk them again first.
                // Re-reading own entries counts a delivery, so this happens only then.
                Array.Fill(pendingCursor, "0");
                Array.Fill(_walkCount, options.BatchSize);
                _batchInHand = false;
                DropReadsAhead();
            }
        }

        await new StreamLoop(redis, _group, health, time, logger)
            .RunAsync(RoundAsync, e => IsNoGroup(e) || policy.IsTransient(e), options.MaxBackoff, stoppingToken, OnPause);
        await FinishReadsAheadAsync(db);
        logger.LogInformation("Consumer {Consumer} of group {Group} stopped", options.ConsumerName, _group);
    }

    /// <summary>Their entries were delivered to this consumer: the walk through its own pending entries takes them again.</summary>
    private void DropReadsAhead()
    {
        for (var p = 0; p < _ahead.Length; p++)
        {
            // Observed, so a failed read raises no unobserved-task error.
            _ = _ahead[p]?.ContinueWith(static t => t.Exception, TaskScheduler.Default);
            _ahead[p] = null;
        }
    }

    /// <summary>On stopping, batches already read are handled and acknowledged, so a restart under another name waits for none of them.</summary>
    private async Task FinishReadsAheadAsync(IDatabase db)
    {
        for (var p = 0; p < _ahead.Length; p++)
        {
            if (_ahead[p] is not { } ahead)
            {
                continue;
            }
            _ahead[p] = null;
            try
            {
                var batch = await ahead;
                if (batch.Entries.Length > 0)
                {
                    await HandleAsync(db, p, StreamKeys.Events(p), batch.Entries, batch.Deliveries, CancellationToken.None);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException || policy.IsTransient(e))
            {
                logger.LogWarning("Group {Group} stopped with a batch read ahead and not handled; it stays pending: {Error}", _group, e.Message);
            }
        }
    }

    /// <summary>What one read found: a full batch or this consumer's own pending entries (more is waiting), new entries short of a full batch, or none.</summary>
    private enum Read { More, Some, None }

    /// <summary>
    /// Reads one batch (own pending entries while the walk lasts, else new ones) and handles it.
    /// After a full batch the next read starts before this one is handled (Redis and the handler's store overlap).
    /// </summary>
    private async Task<Read> ReadAsync(IDatabase db, int partition, string stream, RedisValue?[] pendingCursor, CancellationToken stoppingToken)
    {
        _batchInHand = true;
        if (pendingCursor[partition] is { } cursor)
        {
            var walkCount = _walkCount[partition];
            var (held, deliveries) = await TakeAheadOr(partition, () => ReadHeldAsync(db, stream, cursor, walkCount));
            if (held.Length == 0)
            {
                pendingCursor[partition] = null;
                _batchInHand = ReadingAhead;
                return Read.More;
            }
            pendingCursor[partition] = held[^1].Id;
            // A restart that finds many entries its predecessor held grows its batches as a backlog of new ones does.
            _walkCount[partition] = held.Length == walkCount ? NextCount(walkCount, held) : options.BatchSize;
            if (held.Length == walkCount)
            {
                _ahead[partition] = ReadHeldAsync(db, stream, held[^1].Id, _walkCount[partition]);
            }
            await HandleAsync(db, partition, stream, held, deliveries, stoppingToken);
            _batchInHand = ReadingAhead;
            return Read.More;
        }

        var count = _ahead[partition] is null ? options.BatchSize : _aheadCount[partition];
        var (entries, _) = await TakeAheadOr(partition, () => ReadNewAsync(db, stream, count));
        var full = entries.Length == count;
        if (full)
        {
            // The first read that is not full starts again from BatchSize.
            _aheadCount[partition] = NextCount(count, entries);
            _ahead[partition] = ReadNewAsync(db, stream, _aheadCount[partition]);
        }
        if (entries.Length > 0)
        {
            await HandleAsync(db, partition, stream, entries, null, stoppingToken);
        }
        _batchInHand = ReadingAhead;
        return full ? Read.More : entries.Length > 0 ? Read.Some : Read.None;
    }

    /// <summary>The batch read ahead for <paramref name="partition"/>, else a read started now.</summary>
    private Task<Batch> TakeAheadOr(int partition, Func<Task<Batch>> read)
    {
        var ahead = _ahead[partition];
        _ahead[partition] = null;
        return ahead ?? read();
    }

    /// <summary>A batch read, with the delivery counts of entries read again from this consumer's own pending ones.</summary>
    private readonly record struct Batch(StreamEntry[] Entries, Dictionary<RedisValue, long>? Deliveries);

    private bool ReadingAhead => _ahead.Any(read => read is not null);

    /// <summary>
    /// The entries to ask for after a full read of <paramref name="count"/> (new entries, or this
    /// consumer's own pending ones): twice as many, up to MaxBatchSize, while a read of that size
    /// would hold at most <see cref="GrowthBytes"/> at these entries' size (Redis and this process
    /// each hold a whole reply).
    /// </summary>
    private int NextCount(int count, StreamEntry[] entries)
    {
        var max = Math.Max(options.BatchSize, options.MaxBatchSize);
        if (count >= max)
        {
            return max;
        }
        var next = Math.Min(count * 2, max);
        long bytes = 0;
        foreach (var entry in entries)
        {
            foreach (var field in entry.Values ?? [])
            {
                bytes += field.Name.Length() + field.Value.Length();
            }
        }
        return bytes / entries.Length * next <= GrowthBytes ? next : count;
    }

    /// <summary>The most a grown read is meant to hold: 10,000 entries of up to ~1.6 KB.</summary>
    private const long GrowthBytes = 16 << 20;

    private async Task<Batch> ReadNewAsync(IDatabase db, string stream, int count) =>
        new(await db.StreamReadGroupAsync(stream, _group, options.ConsumerName, StreamPosition.NewMessages, count), null);

    /// <summary>This consumer's own pending entries after <paramref name="cursor"/>; reading them again counts a delivery, which XPENDING then gives.</summary>
    private async Task<Batch> ReadHeldAsync(IDatabase db, string stream, RedisValue cursor, int count)
    {
        var held = await db.StreamReadGroupAsync(stream, _group, options.ConsumerName, cursor, count);
        return new(held, held.Length == 0 ? null : await DeliveriesAsync(db, stream, held));
    }

    private async Task ClaimAsync(IDatabase db, int partition, string stream, CancellationToken stoppingToken)
    {
        RedisValue start = "0-0";
        do
        {
            _batchInHand = true;
            var result = await db.StreamAutoClaimAsync(stream, _group, options.ConsumerName,
                (long)options.ClaimMinIdle.TotalMilliseconds, start, options.BatchSize);
            if (result.DeletedIds.Length > 0)
            {
                // Redis has already dropped these from the pending list; there is nothing to handle.
                metrics.Deleted.Add(result.DeletedIds.Length, _tag);
                logger.LogWarning("{Count} entries pending in group {Group} were deleted from {Stream} before they were handled",
                    result.DeletedIds.Length, _group, stream);
            }
            var claimed = result.ClaimedEntries.Where(e => !e.IsNull).ToArray();
            if (claimed.Length > 0)
            {
                metrics.Claimed.Add(claimed.Length, _tag);
                logger.LogInformation("Claimed {Count} idle entries of {Stream} for {Consumer}", claimed.Length, stream, options.ConsumerName);
                // XAUTOCLAIM's entries carry no delivery count: ask XPENDING.
                await HandleAsync(db, partition, stream, claimed, await DeliveriesAsync(db, stream, claimed), stoppingToken);
            }
            start = result.NextStartId;
            _batchInHand = ReadingAhead;
        }
        while (start != "0-0" && !stoppingToken.IsCancellationRequested);
    }

    private async Task RemoveDeadConsumersAsync(IDatabase db, string stream)
    {
        foreach (var consumer in await db.StreamConsumerInfoAsync(stream, _group))
        {
            if (consumer.Name != options.ConsumerName && consumer.PendingMessageCount == 0
                && consumer.IdleTimeInMilliseconds > options.DeadConsumerIdle.TotalMilliseconds)
            {
                await db.StreamDeleteConsumerAsync(stream, _group, consumer.Name);
                logger.LogInformation("Removed consumer {Consumer} from group {Group}: idle for {Idle} with nothing pending",
                    consumer.Name, _group, TimeSpan.FromMilliseconds(consumer.IdleTimeInMilliseconds));
            }
        }
    }

    /// <summary>
    /// Redis's delivery count of each of <paramref name="entries"/> that this consumer holds pending, read
    /// with XPENDING over the range they span (both reads return them in ID order). Other entries this
    /// consumer holds within the range can fill a reply: the next one reads on after the last it returned.
    /// </summary>
    private async Task<Dictionary<RedisValue, long>> DeliveriesAsync(IDatabase db, string stream, StreamEntry[] entries)
    {
        var deliveries = new Dictionary<RedisValue, long>(entries.Length);
        RedisValue from = entries[0].Id;
        var last = entries[^1].Id;
        while (true)
        {
            var pending = await db.StreamPendingMessagesAsync(stream, _group, entries.Length, options.ConsumerName, from, last);
            foreach (var message in pending)
            {
                deliveries[message.MessageId] = message.DeliveryCount;
            }
            if (pending.Length < entries.Length || pending[^1].MessageId == last)
            {
                return deliveries;
            }
            from = "(" + pending[^1].MessageId;
        }
    }

    private async Task HandleAsync(IDatabase db, int partition, string stream, StreamEntry[] entries,
        Dictionary<RedisValue, long>? deliveries, CancellationToken stoppingToken)
    {
        var messages = new List<StreamMessage>(entries.Length);
        var gone = new List<RedisValue>();
        var notOurs = new List<RedisValue>();
        foreach (var entry in entries)
        {
            if (entry.Values is null || entry.Values.Length == 0)
            {
                gone.Add(entry.Id);
                continue;
            }
            if (EntryField.ReplayFor.In(entry) is { IsNull: false } replayFor && replayFor != _group)
            {
                // A replay meant for another group; this one handled the original.
                notOurs.Add(entry.Id);
                continue;
            }
            var id = StreamId.TryParse(entry.Id.ToString(), out var parsed) ? parsed : default;
            messages.Add(new StreamMessage(partition, stream, entry, id, deliveries?.GetValueOrDefault(entry.Id, 1) ?? 1));
        }
        if (gone.Count > 0)
        {
            metrics.Deleted.Add(gone.Count, _tag);
            logger.LogWarning("{Count} entries pending in group {Group} were deleted from {Stream} before they were handled (first {Id})",
                gone.Count, _group, stream, gone[0]);
            await db.StreamAcknowledgeAsync(stream, _group, [.. gone]);
        }
        if (notOurs.Count > 0)
        {
            await db.StreamAcknowledgeAsync(stream, _group, [.. notOurs]);
        }
        if (messages.Count == 0)
        {
            return;
        }

        var outcomes = await handler(messages, stoppingToken);
        if (outcomes.Count != messages.Count)
        {
            throw new InvalidOperationException($"The handler of group {_group} returned {outcomes.Count} outcomes for {messages.Count} messages.");
        }

        var acks = new List<RedisValue>(messages.Count);
        var now = time.GetUtcNow();
        for (var i = 0; i < messages.Count; i++)
        {
            switch (outcomes[i].Kind)
            {
                case OutcomeKind.Ack:
                    acks.Add(messages[i].Entry.Id);
                    break;
                case OutcomeKind.DeadLetter:
                    if (await DeadLetters.AddAsync(db, _group, messages[i], outcomes[i].Reason ?? "dead-lettered", now, options.MaxDeadLetters))
                    {
                        metrics.DeadLettered.Add(1, _tag);
                        logger.LogError("Entry {Id} of {Stream} moved to {Dlq} by group {Group}: {Reason}",
                            messages[i].Entry.Id, stream, StreamKeys.DeadLetters(partition), _group, outcomes[i].Reason);
                    }
                    break;
                default:
                    logger.LogWarning("Entry {Id} of {Stream} failed delivery {Delivery} in group {Group}: {Reason}",
                        messages[i].Entry.Id, stream, messages[i].Deliveries, _group, outcomes[i].Reason);
                    break;
            }
        }
        if (acks.Count > 0)
        {
            await db.StreamAcknowledgeAsync(stream, _group, [.. acks]);
            metrics.Processed.Add(acks.Count, _tag);
            RecordLatency(messages, outcomes, now);
        }
    }

    private void RecordLatency(List<StreamMessage> messages, IReadOnlyList<MessageOutcome> outcomes, DateTimeOffset now)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if (outcomes[i].Kind == OutcomeKind.Ack && EntryField.TryParseDigits(EntryField.IngestedAt.In(messages[i].Entry), out var ms))
            {
                metrics.IngestLatency.Record((now - DateTimeOffset.FromUnixTimeMilliseconds(ms)).TotalMilliseconds, _tag);
            }
        }
    }

    private async Task EnsureGroupAsync(IDatabase db, string stream)
    {
        try
        {
            await db.StreamCreateConsumerGroupAsync(stream, _group, "0", createStream: true);
            logger.LogInformation("Created group {Group} on {Stream} from 0", _group, stream);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group exists: keep its position.
        }
    }

    private static bool IsNoGroup(Exception e) => e is RedisServerException && e.Message.StartsWith("NOGROUP", StringComparison.Ordinal);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
