using System.Diagnostics;
using System.Globalization;
using Arena.Contracts;

namespace Arena.Load;

/// <summary>
/// Every poll interval, asks the persister how many events of this load's runs it holds and
/// feeds the counts to the <see cref="CommitLagTracker"/>, then samples the lag, timed when
/// the last answer arrived (so a sample is an upper bound of the lag at that moment).
/// </summary>
/// <remarks>
/// Counts come from <c>GET /v1/runs/{run_id}/events?after={last seen}</c>: each event is
/// fetched once, and each request costs the persister the same whatever the size of its
/// table (<c>GET /v1/runs</c> groups the whole table on every call, which grows with the
/// history and would load the persister more the longer a benchmark runs). Only runs that
/// can decide the lag are asked: the run holding the oldest unconfirmed batch first, then
/// the next, until one's oldest batch is still not visible (or its run was already asked
/// this poll) — that batch is the oldest invisible event of all, and the lag is exact as of
/// the moment that run was asked. Each run is asked at most once a poll, with at most
/// <see cref="MaxRequestsPerPoll"/> requests in all; beyond that, runs not asked keep their
/// previous counts and the sample can only be too high.
/// </remarks>
internal sealed class CommitLagMonitor(HttpClient http, Uri persister, IReadOnlyList<string> runIds, CommitLagTracker tracker, TimeSpan interval)
{
    public const int MaxRequestsPerPoll = 16;
    private const int PageSize = 10_000;

    private readonly StreamId[] _after = new StreamId[runIds.Count];
    private readonly long[] _seen = new long[runIds.Count];
    private readonly List<double> _lagMs = [];
    private readonly Lock _gate = new();
    private long _pollErrors;
    private long _pollTicks;
    private long _polls;
    private long _requests;
    private long _capped;
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

    /// <summary>Every event accepted so far has been seen in the persister.</summary>
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
        var candidates = new PriorityQueue<int, long>();
        for (var run = 0; run < _after.Length; run++)
        {
            if (tracker.OldestInvisible(run) is { } front)
            {
                candidates.Enqueue(run, front);
            }
        }
        var requests = 0;
        var asked = new HashSet<int>();
        try
        {
            while (candidates.TryDequeue(out var run, out var front))
            {
                if (!asked.Add(run))
                {
                    break; // asked already this poll, and its oldest unconfirmed batch is the oldest of all
                }
                if (requests >= MaxRequestsPerPoll)
                {
                    Interlocked.Increment(ref _capped);
                    break;
                }
                requests += await FetchNewAsync(run, stop);
                if (tracker.OldestInvisible(run) is not { } next)
                {
                    continue;
                }
                if (next == front)
                {
                    break; // the oldest unconfirmed batch is still not visible: it decides the lag
                }
                candidates.Enqueue(run, next);
            }
        }
        catch (Exception e) when (e is HttpRequestException or FormatException or System.Text.Json.JsonException
            or OperationCanceledException && !stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _pollErrors);
            return;
        }
        finally
        {
            Interlocked.Add(ref _requests, requests);
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

    /// <summary>Reads the run's events after the last one seen, page by page; returns the requests made.</summary>
    private async Task<int> FetchNewAsync(int run, CancellationToken stop)
    {
        var requests = 0;
        while (true)
        {
            var url = new Uri(persister, string.Create(CultureInfo.InvariantCulture,
                $"v1/runs/{Uri.EscapeDataString(runIds[run])}/events?after={_after[run]}&limit={PageSize}"));
            requests++;
            using var response = await http.GetAsync(url, stop);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsByteArrayAsync(stop);
            var page = RunEventsPage.Read(body);
            if (page.Count > 0)
            {
                _after[run] = StreamId.Parse(page.LastStreamId ?? throw new FormatException($"the persister's page of {runIds[run]} has events without stream_id"));
                _seen[run] += page.Count;
                tracker.Visible(run, _seen[run]);
            }
            if (page.Count < PageSize)
            {
                return requests;
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
            CappedPolls = Interlocked.Read(ref _capped),
            PollErrors = Interlocked.Read(ref _pollErrors),
            MeanPollMs = polls == 0 ? 0 : Math.Round(Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _pollTicks)).TotalMilliseconds / polls, 2),
            CaughtUp = caughtUp,
            CatchUpSeconds = caughtUp ? Math.Round(Math.Max(0, Stopwatch.GetElapsedTime(sendingEnded, caughtUpAt).TotalSeconds), 3) : null,
            Visible = visible,
        };
    }
}
