using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Ranker.Rating;
using Arena.Ranker.Storage;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Ranker;

public sealed record LeaderboardEntry(ModelRating Rating, int Games, int Wins, int Losses, int Draws, ModelStats Stats);

/// <summary>One fitted leaderboard: its models best first, and every pair's head-to-head record.</summary>
public sealed record LeaderboardSnapshot(DateTimeOffset UpdatedAt, int Games, string Method, IReadOnlyList<LeaderboardEntry> Models, IReadOnlyList<PairRecord> Pairs);

/// <summary>
/// Refits the leaderboard from the ranker's store after new games, debounced so a burst of
/// games costs one fit, then announces it with a <c>leaderboard_updated</c> event.
/// </summary>
public sealed class LeaderboardService(
    RankerStore store,
    LeaderboardHistory history,
    IConnectionMultiplexer redis,
    IOptions<ArenaOptions> arena,
    IOptions<RankerOptions> options,
    IMeterFactory meters,
    LoopHealth health,
    TimeProvider time,
    ILogger<LeaderboardService> logger) : BackgroundService
{
    private const string LoopName = "leaderboard";
    private readonly RankerOptions _options = options.Value;
    private readonly Signal _changed = new();
    private readonly Histogram<double> _duration = meters.Create(ArenaTelemetry.MeterPrefix + "Ranker")
        .CreateHistogram<double>("arena.ranker.recompute.duration", "ms", "One leaderboard fit, bootstrap included");
    private readonly Counter<long> _recomputes = meters.Create(ArenaTelemetry.MeterPrefix + "Ranker")
        .CreateCounter<long>("arena.ranker.recomputes", "{fit}", "Leaderboard fits");

    public string Method => string.Create(CultureInfo.InvariantCulture,
        $"Bradley-Terry MLE on the Elo scale ({BradleyTerry.Scale}, base 10, mean {BradleyTerry.Mean}); 95% bootstrap intervals over games, {_options.BootstrapRounds} rounds, seed {_options.BootstrapSeed}; rank = 1 + models whose ci_low is above this ci_high; elo_online: k = {Leaderboard.OnlineK} in stream order");

    public LeaderboardSnapshot? Current { get; private set; }

    private int _refit;

    /// <summary>New games were stored: refit after the debounce.</summary>
    public void GamesChanged()
    {
        Volatile.Write(ref _refit, 1);
        _changed.Set();
    }

    /// <summary>Only calls, actions or seats were stored: refresh the statistics after the debounce, without a refit or an announcement.</summary>
    public void StatsChanged() => _changed.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        meters.Create(ArenaTelemetry.MeterPrefix + "Ranker")
            .CreateObservableGauge("arena.ranker.games", () => Current?.Games ?? 0, "{game}", "Games in the current leaderboard");
        // The first pass fits whatever the store already holds.
        var pending = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                health.Healthy(LoopName);
                if (!pending && !await _changed.WaitAsync(TimeSpan.FromSeconds(10), stoppingToken))
                {
                    continue;
                }
                await Task.Delay(_options.RecomputeDebounce, time, stoppingToken);
                // Signals that arrived during the debounce are covered by this fit.
                _changed.Reset();
                if (Interlocked.Exchange(ref _refit, 0) == 1 || pending)
                {
                    pending = false;
                    await RecomputeAsync();
                }
                else
                {
                    RefreshStats();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is DuckDB.NET.Data.DuckDBException or RedisException or TimeoutException or IOException)
            {
                pending = true;
                health.Unhealthy(LoopName, e.Message);
                logger.LogWarning("Leaderboard fit failed, retrying: {Error}", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    public async Task RecomputeAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var games = store.Games();
        var ratings = Leaderboard.Compute(games, _options.BootstrapRounds, (ulong)_options.BootstrapSeed);
        var stats = store.Stats();
        var distinct = games.DistinctBy(g => (g.RunId, g.EventId)).ToList();
        var records = Records(distinct);
        var entries = ratings
            .Select(r =>
            {
                var (played, wins, losses, draws) = records[r.Model];
                return new LeaderboardEntry(r, played, wins, losses, draws, stats.GetValueOrDefault(r.Model, new ModelStats(null, 0, null)));
            })
            .OrderBy(e => e.Rating.Rank).ThenByDescending(e => e.Rating.Rating).ThenBy(e => e.Rating.Model, StringComparer.Ordinal)
            .ToList();
        var pairs = HeadToHead.Compute(distinct, [.. entries.Select(e => e.Rating.Model)]);
        var snapshot = new LeaderboardSnapshot(time.GetUtcNow(), distinct.Count, Method, entries, pairs);
        history.Record(LeaderboardHistory.Global, snapshot.Games, entries.Select(e => e.Rating.ToHistory()));
        Current = snapshot;
        var elapsed = Stopwatch.GetElapsedTime(started);
        _duration.Record(elapsed.TotalMilliseconds);
        _recomputes.Add(1);
        logger.LogInformation("Leaderboard fitted: {Games} games, {Models} models in {Elapsed} ms", snapshot.Games, entries.Count, (int)elapsed.TotalMilliseconds);
        await AnnounceAsync(snapshot);
    }

    /// <summary>
    /// Each model's games, wins, losses and draws: a game counts once for every model in it, by
    /// the model's best rank — a win when that is first place alone, a draw when first place is
    /// shared, else a loss.
    /// </summary>
    private static Dictionary<string, (int Played, int Wins, int Losses, int Draws)> Records(List<Game> games)
    {
        var records = new Dictionary<string, (int Played, int Wins, int Losses, int Draws)>(StringComparer.Ordinal);
        foreach (var game in games)
        {
            var placements = game.Placements;
            var firsts = 0;
            foreach (var p in placements)
            {
                firsts += p.Rank == 1 ? 1 : 0;
            }
            for (var i = 0; i < placements.Count; i++)
            {
                var model = placements[i].Model;
                var best = placements[i].Rank;
                var seen = false;
                for (var j = 0; j < placements.Count; j++)
                {
                    if (j != i && placements[j].Model == model)
                    {
                        seen |= j < i;
                        best = Math.Min(best, placements[j].Rank);
                    }
                }
                if (seen)
                {
                    continue;
                }
                var (played, wins, losses, draws) = records.GetValueOrDefault(model);
                records[model] = best != 1 ? (played + 1, wins, losses + 1, draws)
                    : firsts == 1 ? (played + 1, wins + 1, losses, draws)
                    : (played + 1, wins, losses, draws + 1);
            }
        }
        return records;
    }

    /// <summary>The current leaderboard with each model's statistics read again; ratings and ranks unchanged.</summary>
    private void RefreshStats()
    {
        if (Current is not { } current)
        {
            return;
        }
        var stats = store.Stats();
        Current = current with
        {
            UpdatedAt = time.GetUtcNow(),
            Models = [.. current.Models.Select(e => e with { Stats = stats.GetValueOrDefault(e.Rating.Model, new ModelStats(null, 0, null)) })],
        };
    }

    private Task AnnounceAsync(LeaderboardSnapshot snapshot) =>
        StreamEntries.AppendPipelineEventAsync(redis.GetDatabase(), arena.Value.Partitions, EventTypes.LeaderboardUpdated,
            new LeaderboardUpdated(snapshot.Games, snapshot.Models.Count, snapshot.Models.FirstOrDefault()?.Rating.Model),
            Guid.CreateVersion7().ToString(), idempotent: false, snapshot.UpdatedAt);

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }
}
