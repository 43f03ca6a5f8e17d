using System.Diagnostics;
using Arena.Contracts;

namespace Arena.Load;

/// <summary>
/// Every poll interval, asks the persister how far it has committed each partition and feeds
/// the marks to the <see cref="CommitLagTracker"/>, then samples the lag, timed when the answer
/// arrived (so a sample is an upper bound of the lag at that moment).
/// </summary>
/// <remarks>
/// One request a poll, <c>GET /v1/committed</c>: the persister answers from its group's state
/// in Redis (a script a partition), never from DuckDB, so polling costs the pipeline the same
/// whatever the rate, the number of runs or the size of the history. A run's partition follows
/// from its id by the pipeline's own <see cref="Partitioner"/>, over as many partitions as the
/// persister lists.
/// </remarks>
internal sealed class CommitLagMonitor(HttpClient http, Uri persister, IReadOnlyList<string> runIds, CommitLagTracker tracker, TimeSpan interval)
{
    private readonly Uri _committed = new(persister, "v1/committed");
    private readonly List<double> _lagMs = [];
    private readonly Lock _gate = new();
    private int[] _partitionOf = [];
    private int _partitions;
    private long _pollErrors;
    private long _pollTicks;
    private long _polls;
    private long _requests;
    private long _caughtUpAt;
    private long _caughtUpAccepted = -1;
    private double _lastLagMs = double.NaN;

    /// <summary>The lag at the last successful poll, or null before one.</summary>
    public double? LastLagMs
    {
        get
        {
            lock (_gate)
            {
                return double.IsNaN(_lastLagMs) ? null : _lastLagMs;
            }
        }
    }

    /// <summary>Every event accepted so far is committed, as of the last poll.</summary>
    public bool CaughtUp
    {
        get
        {
            var (accepted, visible) = tracker.Totals();
            return visible >= accepted && Volatile.Read(ref _polls) > 0;
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                await PollAsync(stop);
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task PollAsync(CancellationToken stop)
    {
        var started = Stopwatch.GetTimestamp();
        StreamId?[] marks;
        Interlocked.Increment(ref _requests);
        try
        {
            using var response = await http.GetAsync(_committed, stop);
            response.EnsureSuccessStatusCode();
            marks = CommittedMarks.Read(await response.Content.ReadAsByteArrayAsync(stop));
        }
        catch (Exception e) when (e is HttpRequestException or FormatException or System.Text.Json.JsonException
            or OperationCanceledException && !stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _pollErrors);
            return;
        }
        if (marks.Length != _partitions)
        {
            _partitions = marks.Length;
            _partitionOf = [.. runIds.Select(run => Partitioner.PartitionOf(run, _partitions))];
        }
        for (var run = 0; run < _partitionOf.Length; run++)
        {
            if (marks[_partitionOf[run]] is { } through)
            {
                tracker.Committed(run, through);
            }
        }

        var now = Stopwatch.GetTimestamp();
        var lag = Stopwatch.GetElapsedTime(0, tracker.LagAt(now)).TotalMilliseconds;
        Interlocked.Add(ref _pollTicks, now - started);
        Interlocked.Increment(ref _polls);
        var (accepted, visible) = tracker.Totals();
        lock (_gate)
        {
            _lagMs.Add(lag);
            _lastLagMs = lag;
            // The first poll that shows everything accepted so far: the catch-up moment for that total.
            if (visible >= accepted && accepted != _caughtUpAccepted)
            {
                _caughtUpAccepted = accepted;
                _caughtUpAt = now;
            }
        }
    }

    /// <summary>The figures, given when sending ended.</summary>
    public CommitLagResult Result(long sendingEnded, TimeSpan threshold)
    {
        double[] sorted;
        long caughtUpAt, caughtUpAccepted;
        lock (_gate)
        {
            sorted = [.. _lagMs.Order()];
            caughtUpAt = _caughtUpAt;
            caughtUpAccepted = _caughtUpAccepted;
        }
        var (accepted, visible) = tracker.Totals();
        var caughtUp = visible >= accepted && caughtUpAccepted == accepted;
        var max = sorted.Length == 0 ? 0 : sorted[^1];
        var thresholdMs = threshold.TotalMilliseconds;
        var polls = Interlocked.Read(ref _polls);
        return new CommitLagResult
        {
            ThresholdMs = thresholdMs,
            UnderThreshold = caughtUp && sorted.Length > 0 && max <= thresholdMs,
            MaxLagMs = Math.Round(max, 1),
            P99LagMs = Math.Round(Percentiles.NearestRank(sorted, 99), 1),
            P50LagMs = Math.Round(Percentiles.NearestRank(sorted, 50), 1),
            Samples = sorted.Length,
            Requests = Interlocked.Read(ref _requests),
            PollErrors = Interlocked.Read(ref _pollErrors),
            MeanPollMs = polls == 0 ? 0 : Math.Round(Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _pollTicks)).TotalMilliseconds / polls, 2),
            CaughtUp = caughtUp,
            CatchUpSeconds = caughtUp ? Math.Round(Math.Max(0, Stopwatch.GetElapsedTime(sendingEnded, caughtUpAt).TotalSeconds), 3) : null,
            Visible = visible,
        };
    }
}
