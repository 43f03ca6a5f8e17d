using Arena.Contracts;
using Arena.Ranker.Rating;
using Arena.Storage;
using DuckDB.NET.Data;

namespace Arena.Ranker.Storage;

public sealed record PlacementRow(int Partition, StreamId Id, int Index, string RunId, string EventId, string PlayerId, string Model, int Rank);

public sealed record PlayerRow(int Partition, StreamId Id, int Index, string RunId, string PlayerId, string Model);

public sealed record LlmCallRow(int Partition, StreamId Id, string RunId, string PlayerId, string Model, double LatencyMs, long Tokens, double? CostUsd);

/// <summary>A run's game_start: which game it plays, and whether it is ranked (<c>ranked: false</c> marks a test run).</summary>
public sealed record GameStartRow(int Partition, StreamId Id, string RunId, string Game, bool Ranked = true);

public sealed record ActionRow(int Partition, StreamId Id, string RunId, string PlayerId, bool Valid);

/// <summary>What one write stored that was not stored before: rows that change which games a leaderboard holds (results, game_starts), and rows of the other tables.</summary>
public readonly record struct Stored(int GameResults, int Facts);

public sealed record ModelStats(double? AvgLatencyMs, long Tokens, double? InvalidActionRate, double? CostUsd)
{
    public static readonly ModelStats None = new(null, 0, null, null);
}

/// <summary>A run's game and whether it is ranked, from its first game_start in stream order.</summary>
public sealed record RunInfo((int Partition, long Ms, long Seq) StreamOrder, string Game, bool Ranked = true);

/// <summary>
/// The ranker's own DuckDB file (never the persister's): game results, each run's game and the
/// facts behind per-model statistics, every table keyed on the stream ID so redeliveries change
/// nothing. What a fit reads — every game, each run's game and each model's sums — is also kept in memory, loaded from
/// the tables once when the file opens and then added to with exactly the rows each write
/// stores, so a fit reads no table: rereading them all for every fit made the ranker's work
/// and its memory grow with its history.
/// </summary>
public sealed class RankerStore : IDisposable
{
    public const string FileName = "ranker.duckdb";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS game_results (
            stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL, idx INTEGER NOT NULL,
            run_id VARCHAR NOT NULL, event_id VARCHAR NOT NULL, player_id VARCHAR NOT NULL, model VARCHAR NOT NULL, rank INTEGER NOT NULL,
            PRIMARY KEY (stream_partition, stream_ms, stream_seq, idx));
        CREATE TABLE IF NOT EXISTS players (
            stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL, idx INTEGER NOT NULL,
            run_id VARCHAR NOT NULL, player_id VARCHAR NOT NULL, model VARCHAR NOT NULL,
            PRIMARY KEY (stream_partition, stream_ms, stream_seq, idx));
        CREATE TABLE IF NOT EXISTS llm_calls (
            stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL,
            run_id VARCHAR NOT NULL, player_id VARCHAR NOT NULL, model VARCHAR NOT NULL, latency_ms DOUBLE NOT NULL, tokens BIGINT NOT NULL,
            PRIMARY KEY (stream_partition, stream_ms, stream_seq));
        -- A file written by a ranker that kept no costs gains the column, its calls without one.
        ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS cost_usd DOUBLE;
        CREATE TABLE IF NOT EXISTS game_starts (
            stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL,
            run_id VARCHAR NOT NULL, game VARCHAR NOT NULL, ranked BOOLEAN NOT NULL,
            PRIMARY KEY (stream_partition, stream_ms, stream_seq));
        CREATE TABLE IF NOT EXISTS actions (
            stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL,
            run_id VARCHAR NOT NULL, player_id VARCHAR NOT NULL, valid BOOLEAN NOT NULL,
            PRIMARY KEY (stream_partition, stream_ms, stream_seq));
        """;

    private readonly DuckDbFile _file;
    private readonly Lock _gate = new();
    private readonly ModelSums _sums = new();
    private readonly Dictionary<(string Model, int Rank), Placement> _placements = [];
    private readonly Dictionary<string, RunInfo> _runs = new(StringComparer.Ordinal);
    /// <summary>Every game in stream-ID order; replaced, never changed, once a fit holds it.</summary>
    private List<Game> _games = [];
    /// <summary>Games stored since the last <see cref="Games"/>, merged into it there.</summary>
    private readonly List<Game> _stored = [];

    private RankerStore(DuckDbFile file)
    {
        _file = file;
        Load();
    }

    public string Path => _file.Path;

    public DuckDbFile File => _file;

    public static RankerStore Open(string dataDir, DuckDbOptions options) =>
        new(DuckDbFile.Open(dataDir, FileName, Schema + LeaderboardHistory.Table, "ranker", options));

    /// <summary>Writes one batch's facts; returns how many rows were new.</summary>
    public Stored Write(IReadOnlyList<PlacementRow> placements, IReadOnlyList<GameStartRow> starts, IReadOnlyList<PlayerRow> players, IReadOnlyList<LlmCallRow> calls, IReadOnlyList<ActionRow> actions)
    {
        var runs = Store("game_starts", starts, static (r, s) => r
                .AppendValue(s.Partition).AppendValue(s.Id.Milliseconds).AppendValue(s.Id.Sequence).AppendValue(s.RunId).AppendValue(s.Game).AppendValue(s.Ranked),
                s => AddRun(s.RunId, new RunInfo((s.Partition, s.Id.Milliseconds, s.Id.Sequence), s.Game, s.Ranked)));
        var facts = Store("players", players, static (r, p) => r
                .AppendValue(p.Partition).AppendValue(p.Id.Milliseconds).AppendValue(p.Id.Sequence).AppendValue(p.Index)
                .AppendValue(p.RunId).AppendValue(p.PlayerId).AppendValue(p.Model),
                p => _sums.AddSeat(p.RunId, p.PlayerId, p.Model))
            + Store("llm_calls", calls, static (r, c) => r
                .AppendValue(c.Partition).AppendValue(c.Id.Milliseconds).AppendValue(c.Id.Sequence)
                .AppendValue(c.RunId).AppendValue(c.PlayerId).AppendValue(c.Model).AppendValue(c.LatencyMs).AppendValue(c.Tokens).AppendValue(c.CostUsd),
                c => _sums.AddCalls(c.RunId, c.Model, new CallSums(1, c.LatencyMs, c.Tokens, c.CostUsd is null ? 0 : 1, c.CostUsd ?? 0)))
            + Store("actions", actions, static (r, a) => r
                .AppendValue(a.Partition).AppendValue(a.Id.Milliseconds).AppendValue(a.Id.Sequence)
                .AppendValue(a.RunId).AppendValue(a.PlayerId).AppendValue(a.Valid),
                a => _sums.AddActions(a.RunId, a.PlayerId, 1, a.Valid ? 0 : 1));

        List<PlacementRow> newPlacements = [];
        var results = Store("game_results", placements, static (r, p) => r
            .AppendValue(p.Partition).AppendValue(p.Id.Milliseconds).AppendValue(p.Id.Sequence).AppendValue(p.Index)
            .AppendValue(p.RunId).AppendValue(p.EventId).AppendValue(p.PlayerId).AppendValue(p.Model).AppendValue(p.Rank),
            newPlacements.Add);
        lock (_gate)
        {
            // A game's placements are the rows of one game_end, in seat order.
            foreach (var game in newPlacements.GroupBy(p => (p.Partition, p.Id)))
            {
                var first = game.First();
                _stored.Add(new Game(first.RunId, first.EventId, (first.Partition, first.Id.Milliseconds, first.Id.Sequence),
                    [.. game.OrderBy(p => p.Index).Select(p => PlacementOf(p.Model, p.Rank))]));
            }
        }
        return new Stored(results + runs, facts);
    }

    /// <summary>
    /// Appends <paramref name="rows"/> to <paramref name="table"/> idempotently (each table commits
    /// on its own) and, once committed, hands exactly the rows that were new to
    /// <paramref name="remember"/> under the lock; returns how many there were.
    /// </summary>
    private int Store<T>(string table, IReadOnlyList<T> rows, Action<IDuckDBAppenderRow, T> fill, Action<T> remember)
    {
        IReadOnlyList<T> stored = [];
        var added = _file.AppendIdempotent(table, rows, fill, written => stored = written);
        lock (_gate)
        {
            foreach (var row in stored)
            {
                remember(row);
            }
        }
        return added;
    }

    /// <summary>Every stored game, in stream-ID order; the list is the caller's to read and never changes.</summary>
    public IReadOnlyList<Game> Games()
    {
        lock (_gate)
        {
            if (_stored.Count > 0)
            {
                _stored.Sort(static (a, b) => a.StreamOrder.CompareTo(b.StreamOrder));
                _games = Merge(_games, _stored);
                _stored.Clear();
            }
            return _games;
        }
    }

    /// <summary>Each run's game and whether it is ranked, for the runs whose game_start has been stored; a copy, the caller's to keep.</summary>
    public Dictionary<string, RunInfo> Runs()
    {
        lock (_gate)
        {
            return new Dictionary<string, RunInfo>(_runs, StringComparer.Ordinal);
        }
    }

    /// <summary>Each model's average LLM latency, tokens, cost and invalid-action share, over all runs and per game.</summary>
    public BoardStats Stats()
    {
        lock (_gate)
        {
            return _sums.Stats(_runs);
        }
    }

    /// <summary>A run plays the game, ranked or not, of its first game_start in stream order, whatever order they were stored in.</summary>
    private void AddRun(string runId, RunInfo run)
    {
        if (!_runs.TryGetValue(runId, out var known) || Earlier(run.StreamOrder, known.StreamOrder))
        {
            _runs[runId] = run;
        }
    }

    private static bool Earlier((int Partition, long Ms, long Seq) a, (int Partition, long Ms, long Seq) b) =>
        (a.Ms, a.Seq, a.Partition).CompareTo((b.Ms, b.Seq, b.Partition)) < 0;

    private static List<Game> Merge(List<Game> games, List<Game> stored)
    {
        var merged = new List<Game>(games.Count + stored.Count);
        int i = 0, j = 0;
        while (i < games.Count && j < stored.Count)
        {
            merged.Add(games[i].StreamOrder.CompareTo(stored[j].StreamOrder) <= 0 ? games[i++] : stored[j++]);
        }
        merged.AddRange(games.Skip(i));
        merged.AddRange(stored.Skip(j));
        return merged;
    }

    /// <summary>Placements are values: one instance per (model, rank) serves every game.</summary>
    private Placement PlacementOf(string model, int rank)
    {
        if (!_placements.TryGetValue((model, rank), out var placement))
        {
            placement = new Placement(model, rank);
            _placements[(model, rank)] = placement;
        }
        return placement;
    }

    private void Load()
    {
        using var connection = _file.OpenReader();
        Read(connection, "SELECT run_id, player_id, model FROM players GROUP BY ALL",
            r => _sums.AddSeat(r.GetString(0), r.GetString(1), r.GetString(2)));
        Read(connection, "SELECT run_id, model, count(*), sum(latency_ms), sum(tokens)::BIGINT, count(cost_usd), coalesce(sum(cost_usd), 0) FROM llm_calls GROUP BY ALL",
            r => _sums.AddCalls(r.GetString(0), r.GetString(1), new CallSums(r.GetInt64(2), r.GetDouble(3), r.GetInt64(4), r.GetInt64(5), r.GetDouble(6))));
        Read(connection, "SELECT stream_partition, stream_ms, stream_seq, run_id, game, ranked FROM game_starts",
            r => AddRun(r.GetString(3), new RunInfo((r.GetInt32(0), r.GetInt64(1), r.GetInt64(2)), r.GetString(4), r.GetBoolean(5))));
        Read(connection, "SELECT run_id, player_id, count(*), count(*) FILTER (WHERE NOT valid) FROM actions GROUP BY ALL",
            r => _sums.AddActions(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3)));

        (int, long, long)? key = null;
        List<Placement> placements = [];
        string runId = "", eventId = "";
        Read(connection, """
            SELECT stream_partition, stream_ms, stream_seq, run_id, event_id, model, rank
            FROM game_results ORDER BY stream_partition, stream_ms, stream_seq, idx
            """, reader =>
        {
            var current = (reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2));
            if (key != current)
            {
                if (key is { } done)
                {
                    _games.Add(new Game(runId, eventId, done, placements));
                }
                key = current;
                placements = [];
                runId = reader.GetString(3);
                eventId = reader.GetString(4);
            }
            placements.Add(PlacementOf(reader.GetString(5), reader.GetInt32(6)));
        });
        if (key is { } last)
        {
            _games.Add(new Game(runId, eventId, last, placements));
        }
    }

    private static void Read(DuckDBConnection connection, string sql, Action<System.Data.Common.DbDataReader> row)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            row(reader);
        }
    }

    public void Dispose() => _file.Dispose();
}
