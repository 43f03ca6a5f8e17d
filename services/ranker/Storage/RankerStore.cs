using Arena.Contracts;
using Arena.Ranker.Rating;
using Arena.Storage;

namespace Arena.Ranker.Storage;

public sealed record PlacementRow(int Partition, StreamId Id, int Index, string RunId, string EventId, string PlayerId, string Model, int Rank);

public sealed record PlayerRow(int Partition, StreamId Id, int Index, string RunId, string PlayerId, string Model);

public sealed record LlmCallRow(int Partition, StreamId Id, string RunId, string PlayerId, string Model, double LatencyMs, long Tokens);

public sealed record ActionRow(int Partition, StreamId Id, string RunId, string PlayerId, bool Valid);

public sealed record ModelStats(double? AvgLatencyMs, long Tokens, double? InvalidActionRate);

/// <summary>
/// The ranker's own DuckDB file (never the persister's): game results and the facts behind
/// per-model statistics, every table keyed on the stream ID so redeliveries change nothing.
/// </summary>
public sealed class RankerStore(DuckDbFile file) : IDisposable
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
        CREATE TABLE IF NOT EXISTS actions (
            stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL,
            run_id VARCHAR NOT NULL, player_id VARCHAR NOT NULL, valid BOOLEAN NOT NULL,
            PRIMARY KEY (stream_partition, stream_ms, stream_seq));
        """;

    public string Path => file.Path;

    public static RankerStore Open(string dataDir, DuckDbOptions options) => new(DuckDbFile.Open(dataDir, FileName, Schema, "ranker", options));

    /// <summary>Writes one batch's facts; returns how many new game results it added.</summary>
    public int Write(IReadOnlyList<PlacementRow> placements, IReadOnlyList<PlayerRow> players, IReadOnlyList<LlmCallRow> calls, IReadOnlyList<ActionRow> actions)
    {
        file.AppendIdempotent("players", players, static (r, p) => r
            .AppendValue(p.Partition).AppendValue(p.Id.Milliseconds).AppendValue(p.Id.Sequence).AppendValue(p.Index)
            .AppendValue(p.RunId).AppendValue(p.PlayerId).AppendValue(p.Model));
        file.AppendIdempotent("llm_calls", calls, static (r, c) => r
            .AppendValue(c.Partition).AppendValue(c.Id.Milliseconds).AppendValue(c.Id.Sequence)
            .AppendValue(c.RunId).AppendValue(c.PlayerId).AppendValue(c.Model).AppendValue(c.LatencyMs).AppendValue(c.Tokens));
        file.AppendIdempotent("actions", actions, static (r, a) => r
            .AppendValue(a.Partition).AppendValue(a.Id.Milliseconds).AppendValue(a.Id.Sequence)
            .AppendValue(a.RunId).AppendValue(a.PlayerId).AppendValue(a.Valid));
        return file.AppendIdempotent("game_results", placements, static (r, p) => r
            .AppendValue(p.Partition).AppendValue(p.Id.Milliseconds).AppendValue(p.Id.Sequence).AppendValue(p.Index)
            .AppendValue(p.RunId).AppendValue(p.EventId).AppendValue(p.PlayerId).AppendValue(p.Model).AppendValue(p.Rank));
    }

    public List<Game> Games()
    {
        using var connection = file.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT stream_partition, stream_ms, stream_seq, run_id, event_id, model, rank
            FROM game_results ORDER BY stream_partition, stream_ms, stream_seq, idx
            """;
        using var reader = command.ExecuteReader();
        var games = new List<Game>();
        (int, long, long)? key = null;
        List<Placement> placements = [];
        string runId = "", eventId = "";
        while (reader.Read())
        {
            var current = (reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2));
            if (key != current)
            {
                if (key is { } done)
                {
                    games.Add(new Game(runId, eventId, done, placements));
                }
                key = current;
                placements = [];
                runId = reader.GetString(3);
                eventId = reader.GetString(4);
            }
            placements.Add(new Placement(reader.GetString(5), reader.GetInt32(6)));
        }
        if (key is { } last)
        {
            games.Add(new Game(runId, eventId, last, placements));
        }
        return games;
    }

    public Dictionary<string, ModelStats> Stats()
    {
        using var connection = file.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = """
            WITH calls AS (SELECT model, avg(latency_ms) AS latency, sum(tokens)::BIGINT AS tokens FROM llm_calls GROUP BY model),
                 seats AS (SELECT DISTINCT run_id, player_id, model FROM players),
                 moves AS (SELECT s.model, avg(CASE WHEN a.valid THEN 0.0 ELSE 1.0 END) AS invalid
                           FROM actions a JOIN seats s USING (run_id, player_id) GROUP BY s.model)
            SELECT coalesce(c.model, m.model), c.latency, coalesce(c.tokens, 0), m.invalid
            FROM calls c FULL OUTER JOIN moves m ON c.model = m.model
            """;
        using var reader = command.ExecuteReader();
        var stats = new Dictionary<string, ModelStats>(StringComparer.Ordinal);
        while (reader.Read())
        {
            stats[reader.GetString(0)] = new ModelStats(
                reader.IsDBNull(1) ? null : reader.GetDouble(1),
                reader.IsDBNull(2) ? 0 : reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetDouble(3));
        }
        return stats;
    }

    public void Dispose() => file.Dispose();
}
