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

public sealed record LeaderboardSnapshot(DateTimeOffset UpdatedAt, int Games, string Method, IReadOnlyList<LeaderboardEntry> Models);

/// <summary>
/// Refits the leaderboard from the ranker's store after new games, debounced so a burst of
/// games costs one fit, then announces it with a <c>leaderboard_updated</c> event.
/// </summary>
public sealed class LeaderboardService(
    RankerStore store,
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
        $"Bradley-Terry MLE on the Elo scale (400, base 10, mean 1000); 95% bootstrap intervals over games, {_options.BootstrapRounds} rounds, seed {_options.BootstrapSeed}; rank = 1 + models whose ci_low is above this ci_high; elo_online: k = 4 in stream order");

    public LeaderboardSnapshot? Current { get; private set; }

    /// <summary>New games were stored: refit after the debounce.</summary>
    public void GamesChanged() => _changed.Set();

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
                pending = false;
                await RecomputeAsync();
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
        var entries = ratings
            .Select(r =>
            {
                int played = 0, wins = 0, losses = 0, draws = 0;
                foreach (var game in distinct)
                {
                    var mine = game.Placements.Where(p => p.Model == r.Model).ToList();
                    if (mine.Count == 0)
                    {
                        continue;
                    }
                    played++;
                    var best = mine.Min(p => p.Rank);
                    var firsts = game.Placements.Count(p => p.Rank == 1);
                    if (best == 1 && firsts == 1) wins++;
                    else if (best == 1) draws++;
                    else losses++;
                }
                return new LeaderboardEntry(r, played, wins, losses, draws, stats.GetValueOrDefault(r.Model, new ModelStats(null, 0, null)));
            })
            .OrderBy(e => e.Rating.Rank).ThenByDescending(e => e.Rating.Rating).ThenBy(e => e.Rating.Model, StringComparer.Ordinal)
            .ToList();
        var snapshot = new LeaderboardSnapshot(time.GetUtcNow(), distinct.Count, Method, entries);
        Current = snapshot;
        var elapsed = Stopwatch.GetElapsedTime(started);
        _duration.Record(elapsed.TotalMilliseconds);
        _recomputes.Add(1);
        logger.LogInformation("Leaderboard fitted: {Games} games, {Models} models in {Elapsed} ms", snapshot.Games, entries.Count, (int)elapsed.TotalMilliseconds);
        await AnnounceAsync(snapshot);
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
