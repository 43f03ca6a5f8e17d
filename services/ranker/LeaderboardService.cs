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

/// <summary>One fitted leaderboard (<see cref="Game"/>'s, or the global one): its models best first, and every pair's head-to-head record.</summary>
public sealed record LeaderboardSnapshot(string? Game, DateTimeOffset UpdatedAt, int Games, string Method, IReadOnlyList<LeaderboardEntry> Models, IReadOnlyList<PairRecord> Pairs)
{
    /// <summary>The games it was fitted on, in stream order: the same games give the same leaderboard.</summary>
    public IReadOnlyList<Game> Source { get; init; } = [];
}

/// <summary>The global leaderboard and one per game with games, by game name.</summary>
public sealed record Leaderboards(LeaderboardSnapshot Global, SortedDictionary<string, LeaderboardSnapshot> ByGame);

/// <summary>
/// Refits the leaderboards from the ranker's store after new games, debounced so a burst of
/// games costs one fit of each leaderboard whose games changed, records each in the history,
/// then announces them with a <c>leaderboard_updated</c> event.
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

    /// <summary>The leaderboards of the last fit; null until the first.</summary>
    public Leaderboards? Boards { get; private set; }

    public LeaderboardSnapshot? Current => Boards?.Global;

    private int _refit;
    private bool _unannounced;

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

    /// <summary>
    /// Fits the leaderboards whose games changed since the last fit (all of them the first
    /// time); the others keep their ratings and take the new statistics.
    /// </summary>
    public async Task RecomputeAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var (global, byGame) = BoardGames.Partition(store.Games(), store.Runs());
        var stats = store.Stats();
        var now = time.GetUtcNow();
        var previous = Boards;
        var fitted = new List<LeaderboardSnapshot>();
        LeaderboardSnapshot Board(string? game, List<Game> games, LeaderboardSnapshot? before)
        {
            if (before is not null && before.Source.SequenceEqual(games, ReferenceEqualityComparer.Instance))
            {
                return WithStats(before, stats, now);
            }
            var board = Fit(game, games, stats, now);
            history.Record(game ?? LeaderboardHistory.Global, board.Games, board.Models.Select(e => e.Rating.ToHistory()));
            fitted.Add(board);
            return board;
        }
        var boards = new Leaderboards(Board(null, global, previous?.Global),
            new SortedDictionary<string, LeaderboardSnapshot>(
                byGame.ToDictionary(g => g.Key, g => Board(g.Key, g.Value, previous?.ByGame.GetValueOrDefault(g.Key))), StringComparer.Ordinal));
        Boards = boards;
        if (fitted.Count > 0)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            _duration.Record(elapsed.TotalMilliseconds);
            _recomputes.Add(1);
            logger.LogInformation("Leaderboards fitted: {Boards} of {All} ({Games} games, {Models} models in all) in {Elapsed} ms",
                fitted.Count, boards.ByGame.Count + 1, boards.Global.Games, boards.Global.Models.Count, (int)elapsed.TotalMilliseconds);
            _unannounced = true;
        }
        // A fit whose announcement failed is announced by the retry, which finds nothing to refit.
        if (_unannounced)
        {
            await AnnounceAsync(boards.Global);
            _unannounced = false;
        }
    }

    private LeaderboardSnapshot Fit(string? game, List<Game> games, BoardStats stats, DateTimeOffset now)
    {
        var ratings = Leaderboard.Compute(games, _options.BootstrapRounds, (ulong)_options.BootstrapSeed);
        var distinct = games.DistinctBy(g => (g.RunId, g.EventId)).ToList();
        var records = Records(distinct);
        var entries = ratings
            .Select(r =>
            {
                var (played, wins, losses, draws) = records[r.Model];
                return new LeaderboardEntry(r, played, wins, losses, draws, stats.Of(game, r.Model));
            })
            .OrderBy(e => e.Rating.Rank).ThenByDescending(e => e.Rating.Rating).ThenBy(e => e.Rating.Model, StringComparer.Ordinal)
            .ToList();
        var pairs = HeadToHead.Compute(distinct, [.. entries.Select(e => e.Rating.Model)]);
        return new LeaderboardSnapshot(game, now, distinct.Count, Method, entries, pairs) { Source = games };
    }

    /// <summary>The leaderboard with each model's statistics read again; ratings and ranks unchanged.</summary>
    private static LeaderboardSnapshot WithStats(LeaderboardSnapshot board, BoardStats stats, DateTimeOffset now) => board with
    {
        UpdatedAt = now,
        Models = [.. board.Models.Select(e => e with { Stats = stats.Of(board.Game, e.Rating.Model) })],
    };

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

    /// <summary>The current leaderboards with each model's statistics read again; ratings and ranks unchanged.</summary>
    private void RefreshStats()
    {
        if (Boards is not { } boards)
        {
            return;
        }
        var stats = store.Stats();
        var now = time.GetUtcNow();
        Boards = new Leaderboards(WithStats(boards.Global, stats, now),
            new SortedDictionary<string, LeaderboardSnapshot>(boards.ByGame.ToDictionary(b => b.Key, b => WithStats(b.Value, stats, now)), StringComparer.Ordinal));
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
