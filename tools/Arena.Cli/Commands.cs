using System.Globalization;
using Arena.Contracts;
using Arena.Messaging;
using StackExchange.Redis;

namespace Arena.Cli;

public static class Commands
{
    public static async Task<int> StatusAsync(IDatabase db, int partitions, Output output)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var streams = new List<StreamStatus>();
        for (var p = 0; p < partitions; p++)
        {
            var key = StreamKeys.Events(p);
            if (!await db.KeyExistsAsync(key))
            {
                streams.Add(new StreamStatus(key, p, 0, null, null, []));
                continue;
            }
            var info = await db.StreamInfoAsync(key);
            var lastIssued = StreamId.Parse(info.LastGeneratedId.ToString());
            var groups = new List<GroupStatus>();
            foreach (var group in await db.StreamGroupInfoAsync(key))
            {
                var pending = await db.StreamPendingAsync(key, group.Name);
                var age = pending.PendingMessageCount > 0 && StreamId.TryParse(pending.LowestPendingMessageId.ToString(), out var oldest)
                    ? (now - oldest.Milliseconds) / 1000.0 : (double?)null;
                var consumers = (await db.StreamConsumerInfoAsync(key, group.Name))
                    .Select(c => new ConsumerStatus(c.Name, c.PendingMessageCount, c.IdleTimeInMilliseconds)).ToList();
                var lag = await GroupLag.ReadAsync(db, key, group, info.Length, lastIssued);
                // Behind, and nobody has read for a while: a group whose service is gone, holding trimming back if it bounds it.
                var stale = (lag > 0 || group.PendingMessageCount > 0) && consumers.All(c => c.IdleMs >= StaleAfter.TotalMilliseconds);
                groups.Add(new GroupStatus(group.Name, group.PendingMessageCount, lag, group.LastDeliveredId ?? "", age, consumers, stale));
            }
            streams.Add(new StreamStatus(key, p, info.Length, info.FirstEntry.Id.ToString(), info.LastEntry.Id.ToString(), groups));
        }
        var dlq = 0L;
        for (var p = 0; p < partitions; p++)
        {
            dlq += await db.StreamLengthAsync(StreamKeys.DeadLetters(p));
        }

        if (output.Json)
        {
            await output.JsonAsync(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("streams");
                foreach (var s in streams)
                {
                    w.WriteStartObject();
                    w.WriteString("stream", s.Key);
                    w.WriteNumber("partition", s.Partition);
                    w.WriteNumber("length", s.Length);
                    w.WriteString("first_id", s.First);
                    w.WriteString("last_id", s.Last);
                    w.WriteStartArray("groups");
                    foreach (var g in s.Groups)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", g.Name);
                        w.WriteNumber("pending", g.Pending);
                        w.WriteNumber("lag", g.Lag);
                        w.WriteBoolean("stale", g.Stale);
                        w.WriteString("last_delivered_id", g.LastDelivered);
                        if (g.OldestPendingAge is { } age) w.WriteNumber("oldest_pending_age_s", Math.Round(age, 3)); else w.WriteNull("oldest_pending_age_s");
                        w.WriteStartArray("consumers");
                        foreach (var c in g.Consumers)
                        {
                            w.WriteStartObject();
                            w.WriteString("name", c.Name);
                            w.WriteNumber("pending", c.Pending);
                            w.WriteNumber("idle_ms", c.IdleMs);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("dlq_depth", dlq);
                w.WriteEndObject();
            });
            return ArenaCli.Ok;
        }

        await output.TableAsync("Streams", ["stream", "length", "first id", "last id"],
            streams.Select(s => new[] { s.Key, N(s.Length), s.First ?? "-", s.Last ?? "-" }));
        await output.TableAsync("Groups", ["stream", "group", "lag", "pending", "oldest pending", "last delivered"],
            streams.SelectMany(s => s.Groups.Select(g => new[]
            {
                s.Key, g.Name, N(g.Lag), N(g.Pending),
                g.OldestPendingAge is { } age ? $"{age:F1}s" : "-", g.LastDelivered,
            })));
        await output.TableAsync("Consumers", ["stream", "group", "consumer", "pending", "idle"],
            streams.SelectMany(s => s.Groups.SelectMany(g => g.Consumers.Select(c => new[]
            {
                s.Key, g.Name, c.Name, N(c.Pending), $"{c.IdleMs / 1000.0:F1}s",
            }))));
        await output.LineAsync($"Dead letters ({StreamKeys.DeadLetters(0)}{(partitions > 1 ? " …" : "")}): {N(dlq)}");
        foreach (var (stream, group) in streams.SelectMany(s => s.Groups.Where(g => g.Stale).Select(g => (s.Key, g))))
        {
            await output.LineAsync($"Stale group: '{group.Name}' on {stream} is behind (lag {N(group.Lag)}, pending {N(group.Pending)}) and no consumer " +
                $"has read for {StaleAfter.TotalMinutes:F0} minutes or more; while it exists, trimming keeps what it has not committed if it is a " +
                $"bounding group. If its service is gone for good: XGROUP DESTROY {stream} {group.Name}");
        }
        return ArenaCli.Ok;
    }

    public static async Task<int> DlqListAsync(IDatabase db, DlqScope scope, int limit, Output output)
    {
        if (limit < 1)
        {
            return await output.UsageAsync("--limit must be a positive integer");
        }
        if (scope.Error is not null)
        {
            return await output.UsageAsync(scope.Error);
        }
        var entries = (await Task.WhenAll(scope.Partitions.Select(p => db.StreamRangeAsync(StreamKeys.DeadLetters(p), "-", "+", limit))))
            .SelectMany(e => e)
            .OrderBy(e => StreamId.TryParse(e.Id.ToString(), out var id) ? id : default)
            .Take(limit)
            .ToArray();
        if (output.Json)
        {
            await output.JsonAsync(w =>
            {
                w.WriteStartArray();
                foreach (var e in entries)
                {
                    WriteEntry(w, e);
                }
                w.WriteEndArray();
            });
            return ArenaCli.Ok;
        }
        await output.TableAsync("", ["id", "group", "stream", "original id", "deliveries", "failed at", "error"],
            entries.Select(e => new[]
            {
                e.Id.ToString(), e[DeadLetters.Group].ToString(), e[DeadLetters.OriginalStream].ToString(), e[DeadLetters.OriginalId].ToString(),
                e[DeadLetters.Deliveries].ToString(), e[DeadLetters.FailedAt].ToString(), Shorten(e[DeadLetters.Error].ToString(), 60),
            }));
        return ArenaCli.Ok;
    }

    public static async Task<int> DlqShowAsync(IDatabase db, DlqScope scope, string id, Output output)
    {
        if (!StreamId.TryParse(id, out _))
        {
            return await output.UsageAsync($"'{id}' is not a stream ID (<ms>-<seq>)");
        }
        if (scope.Error is not null)
        {
            return await output.UsageAsync(scope.Error);
        }
        var found = await FindAsync(db, scope, id);
        if (found.Ambiguous is { } partitions)
        {
            return await output.UsageAsync($"dead letter {id} is in partitions {partitions}; choose one with --partition");
        }
        if (found.Entry is not { } entry)
        {
            return await output.FailAsync($"no dead letter {id}");
        }
        if (output.Json)
        {
            await output.JsonAsync(w => WriteEntry(w, entry));
            return ArenaCli.Ok;
        }
        await output.TableAsync($"Dead letter {id}", ["field", "value"], entry.Values.Select(v => new[] { v.Name.ToString(), v.Value.ToString() }));
        return ArenaCli.Ok;
    }

    public static async Task<int> DlqReplayAsync(IDatabase db, DlqScope scope, DlqReplay request, Output output)
    {
        var ids = request.Ids;
        if (request.All == ids.Length > 0)
        {
            return await output.UsageAsync("give the dead letters' ids, or --all");
        }
        if (ids.FirstOrDefault(i => !StreamId.TryParse(i, out _)) is { } bad)
        {
            return await output.UsageAsync($"'{bad}' is not a stream ID (<ms>-<seq>)");
        }
        if (scope.Error is not null)
        {
            return await output.UsageAsync(scope.Error);
        }
        var found = request.All ? [] : await Task.WhenAll(ids.Select(i => FindAsync(db, scope, i)));
        if (found.FirstOrDefault(f => f.Ambiguous is not null) is { Ambiguous: { } where, Id: var twice })
        {
            return await output.UsageAsync($"dead letter {twice} is in partitions {where}; choose one with --partition");
        }
        var missing = found.Where(f => f.Entry is null).Select(f => f.Id).ToList();
        var entries = request.All
            ? (await Task.WhenAll(scope.Partitions.Select(p => db.StreamRangeAsync(StreamKeys.DeadLetters(p))))).SelectMany(e => e).ToList()
            : [.. found.Where(f => f.Entry is not null).Select(f => f.Entry!.Value)];
        // With --all the filters only choose; an id named explicitly that they leave out is reported.
        var chosen = entries.Where(request.Matches).ToList();
        var skipped = request.All ? [] : entries.Where(e => !request.Matches(e)).Select(e => e.Id.ToString()).ToList();

        if (request.DryRun)
        {
            return await DryRunAsync(chosen, skipped, missing, output);
        }
        var replayed = new List<(string From, string To)>();
        for (var i = 0; i < chosen.Count; i++)
        {
            if (await DeadLetters.ReplayAsync(db, chosen[i]) is { } newId)
            {
                replayed.Add((chosen[i].Id.ToString(), newId));
            }
            else
            {
                missing.Add(chosen[i].Id.ToString());
            }
            output.Progress(i + 1, chosen.Count);
        }

        if (output.Json)
        {
            await output.JsonAsync(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("replayed");
                foreach (var (from, to) in replayed)
                {
                    w.WriteStartObject();
                    w.WriteString("dlq_id", from);
                    w.WriteString("stream_id", to);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                WriteIds(w, "skipped", skipped);
                WriteIds(w, "not_found", missing);
                w.WriteEndObject();
            });
        }
        else
        {
            foreach (var (from, to) in replayed)
            {
                await output.LineAsync($"replayed {from} as {to}");
            }
            await output.LineAsync($"{replayed.Count} replayed, {skipped.Count} skipped (filtered out), {missing.Count} not found");
        }
        if (skipped.Count > 0)
        {
            await output.Error.WriteLineAsync($"arena: not replayed, filtered out by --group/--error: {string.Join(", ", skipped)}");
        }
        if (missing.Count > 0)
        {
            await output.Error.WriteLineAsync($"arena: not in the DLQ: {string.Join(", ", missing)}");
            return ArenaCli.Failed;
        }
        return ArenaCli.Ok;
    }

    /// <summary>What <c>dlq replay</c> would do; changes nothing.</summary>
    private static async Task<int> DryRunAsync(List<StreamEntry> chosen, List<string> skipped, List<string> missing, Output output)
    {
        if (output.Json)
        {
            await output.JsonAsync(w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("dry_run", true);
                w.WriteStartArray("would_replay");
                chosen.ForEach(e => WriteEntry(w, e));
                w.WriteEndArray();
                WriteIds(w, "skipped", skipped);
                WriteIds(w, "not_found", missing);
                w.WriteEndObject();
            });
            return ArenaCli.Ok;
        }
        await output.TableAsync("Would replay", ["id", "group", "stream", "original id", "error"],
            chosen.Select(e => new[]
            {
                e.Id.ToString(), e[DeadLetters.Group].ToString(), e[DeadLetters.OriginalStream].ToString(), e[DeadLetters.OriginalId].ToString(),
                Shorten(e[DeadLetters.Error].ToString(), 60),
            }));
        await output.LineAsync($"dry run: {chosen.Count} would be replayed, {skipped.Count} skipped (filtered out), {missing.Count} not found; nothing changed");
        return ArenaCli.Ok;
    }

    private static void WriteIds(System.Text.Json.Utf8JsonWriter w, string name, List<string> ids)
    {
        w.WriteStartArray(name);
        ids.ForEach(w.WriteStringValue);
        w.WriteEndArray();
    }

    public static async Task<int> DlqPurgeAsync(IDatabase db, DlqScope scope, bool yes, Output output)
    {
        if (!yes)
        {
            return await output.UsageAsync("purging deletes every dead letter for good; confirm with --yes");
        }
        if (scope.Error is not null)
        {
            return await output.UsageAsync(scope.Error);
        }
        var count = 0L;
        foreach (var p in scope.Partitions)
        {
            count += await db.StreamLengthAsync(StreamKeys.DeadLetters(p));
            await db.KeyDeleteAsync(StreamKeys.DeadLetters(p));
        }
        if (output.Json)
        {
            await output.JsonAsync(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("purged", count);
                w.WriteEndObject();
            });
        }
        else
        {
            await output.LineAsync($"purged {N(count)} dead letters");
        }
        return ArenaCli.Ok;
    }

    public static async Task<int> ReplayGroupAsync(IDatabase db, GroupRewind request, int partitions, Output output)
    {
        var (group, partition) = (request.Group, request.Partition);
        if (string.IsNullOrEmpty(group) || !StreamId.TryParse(request.From, out var start))
        {
            return await output.UsageAsync("replay needs --group G and --from <ms>-<seq>");
        }
        if (partition >= partitions)
        {
            return await output.UsageAsync($"--partition must be from 0 to {partitions - 1}");
        }
        var stream = StreamKeys.Events(partition);
        var info = await db.KeyExistsAsync(stream) ? (await db.StreamGroupInfoAsync(stream)).FirstOrDefault(g => g.Name == group) : default;
        if (info.Name != group)
        {
            return await output.FailAsync($"group '{group}' does not exist on {stream}");
        }
        if (!request.Yes)
        {
            var redelivered = await CountAsync(db, stream, start, info.LastDeliveredId);
            var confirmed = await output.ConfirmAsync(
                $"Rewind group {group} on partition {partition} from {start}? This re-delivers {N(redelivered)} entries.");
            if (confirmed is null)
            {
                return await output.UsageAsync(
                    $"rewinding group {group} re-delivers {N(redelivered)} entries; there is no terminal to confirm on: pass --yes");
            }
            if (confirmed is false)
            {
                return await output.FailAsync($"group {group} not rewound");
            }
        }
        // The group resumes after its last delivered ID, so set it just before the first entry to replay.
        await db.ExecuteAsync("XGROUP", "SETID", stream, group, start.Previous().ToString());
        if (output.Json)
        {
            await output.JsonAsync(w =>
            {
                w.WriteStartObject();
                w.WriteString("stream", stream);
                w.WriteString("group", group);
                w.WriteString("from", start.ToString());
                w.WriteEndObject();
            });
        }
        else
        {
            await output.LineAsync($"group {group} on {stream} will handle every entry from {start} on again");
        }
        return ArenaCli.Ok;
    }

    /// <summary>Entries of <paramref name="stream"/> from <paramref name="from"/> up to the group's last delivered one: what a rewind re-delivers.</summary>
    private static async Task<long> CountAsync(IDatabase db, string stream, StreamId from, string? lastDelivered)
    {
        if (!StreamId.TryParse(lastDelivered, out var last) || last < from)
        {
            return 0;
        }
        const int Page = 1000;
        var count = 0L;
        var next = from;
        while (true)
        {
            var page = await db.StreamRangeAsync(stream, next.ToString(), last.ToString(), Page);
            count += page.Length;
            if (page.Length < Page)
            {
                return count;
            }
            next = StreamId.Parse(page[^1].Id.ToString()).Next();
        }
    }

    /// <summary>A dead letter by id; ids are per partition's DLQ, so one may be in several.</summary>
    private static async Task<(string Id, StreamEntry? Entry, string? Ambiguous)> FindAsync(IDatabase db, DlqScope scope, string id)
    {
        var hits = new List<(int Partition, StreamEntry Entry)>();
        foreach (var p in scope.Partitions)
        {
            if (await db.StreamRangeAsync(StreamKeys.DeadLetters(p), id, id) is [var entry])
            {
                hits.Add((p, entry));
            }
        }
        return hits.Count > 1
            ? (id, null, string.Join(", ", hits.Select(h => h.Partition)))
            : (id, hits.Count == 1 ? hits[0].Entry : null, null);
    }

    private static void WriteEntry(System.Text.Json.Utf8JsonWriter w, StreamEntry e)
    {
        w.WriteStartObject();
        w.WriteString("id", e.Id.ToString());
        foreach (var v in e.Values)
        {
            w.WriteString(v.Name.ToString(), v.Value.ToString());
        }
        w.WriteEndObject();
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private sealed record StreamStatus(string Key, int Partition, long Length, string? First, string? Last, List<GroupStatus> Groups);

    private sealed record GroupStatus(string Name, long Pending, long Lag, string LastDelivered, double? OldestPendingAge, List<ConsumerStatus> Consumers, bool Stale);

    /// <summary>A group is stale when it is behind and every consumer has been idle this long (live consumers poll several times a second).</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(5);

    private sealed record ConsumerStatus(string Name, long Pending, long IdleMs);
}

/// <summary>The partitions whose DLQs a command looks at: all, or the one <c>--partition</c> names.</summary>
public sealed record DlqScope(IReadOnlyList<int> Partitions, string? Error)
{
    public static DlqScope Of(int partitions, int? partition) => partition switch
    {
        null => new([.. Enumerable.Range(0, partitions)], null),
        >= 0 and var p when p < partitions => new([p], null),
        _ => new([], $"--partition must be from 0 to {partitions - 1}"),
    };
}

/// <summary>What <c>dlq replay</c> was asked: explicit ids or <c>--all</c>, narrowed by the filters.</summary>
public sealed record DlqReplay(string[] Ids, bool All, string? Group, string? Error, bool DryRun)
{
    /// <summary>Whether a dead letter passes <c>--group</c> and <c>--error</c>.</summary>
    public bool Matches(StreamEntry entry) =>
        (Group is null || entry[DeadLetters.Group] == Group)
        && (Error is null || entry[DeadLetters.Error].ToString().Contains(Error, StringComparison.OrdinalIgnoreCase));
}

/// <summary>What <c>arena replay</c> was asked.</summary>
public sealed record GroupRewind(string? Group, string? From, int Partition, bool Yes);
