using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;

namespace Arena.Ranker.Storage;

/// <summary>One model's place in a leaderboard snapshot.</summary>
public sealed record HistoryModel(string Model, double Rating, double CiLow, double CiHigh, int Rank);

internal static class HistoryModels
{
    public static HistoryModel ToHistory(this Arena.Ranker.Rating.ModelRating r) => new(r.Model, r.Rating, r.CiLow, r.CiHigh, r.Rank);
}

/// <summary>A leaderboard as one fit left it; <see cref="Models"/> is the JSON array of its <see cref="HistoryModel"/>s.</summary>
public sealed record HistorySnapshot(DateTimeOffset At, int Games, string Models);

/// <summary>
/// Each leaderboard's past fits, in the ranker's DuckDB file so they survive restarts: a
/// snapshot per fit that changed the leaderboard (a fit equal to the last snapshot, such as
/// the first after a restart, adds none), thinned with age by <see cref="HistoryThinning"/>.
/// The global leaderboard's key is the empty string (a game's name is never empty).
/// </summary>
public sealed class LeaderboardHistory : IDisposable
{
    /// <summary>Snapshots kept per leaderboard at most, and the most one request returns.</summary>
    public const int MaxPerBoard = 5000;

    /// <summary>The global leaderboard's key.</summary>
    public const string Global = "";

    public const string Table = """
        CREATE TABLE IF NOT EXISTS leaderboard_history (
            board VARCHAR NOT NULL, at_us BIGINT NOT NULL, games INTEGER NOT NULL, models VARCHAR NOT NULL,
            PRIMARY KEY (board, at_us));
        """;

    private readonly DuckDBConnection _connection;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long AtUs, int Games, string Models)> _last = new(StringComparer.Ordinal);

    public LeaderboardHistory(RankerStore store, TimeProvider time)
    {
        // Its own connection on the store's database: fits run beside the consumer's writes.
        _connection = store.File.OpenReader();
        _time = time;
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT board, arg_max(at_us, at_us), arg_max(games, at_us), arg_max(models, at_us) FROM leaderboard_history GROUP BY board";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            _last[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt32(2), reader.GetString(3));
        }
    }

    /// <summary>Stores a snapshot of <paramref name="board"/> unless it has no games or equals the last one, then thins the board's history; returns whether it stored one.</summary>
    public bool Record(string board, int games, IEnumerable<HistoryModel> models)
    {
        var json = Serialize(models);
        lock (_gate)
        {
            var last = _last.TryGetValue(board, out var found) ? found : (AtUs: long.MinValue, Games: -1, Models: "");
            if (games == 0 || (last.Games == games && last.Models == json))
            {
                return false;
            }
            var now = _time.GetUtcNow();
            // Strictly increasing per board: the time is the snapshot's key.
            var atUs = Math.Max(Microseconds(now), last.AtUs + 1);
            using (var transaction = _connection.BeginTransaction())
            {
                Execute("INSERT INTO leaderboard_history VALUES ($board, $at, $games, $models)",
                    ("board", board), ("at", atUs), ("games", (object)games), ("models", json));
                foreach (var discard in HistoryThinning.Discard(TimesOf(board), now, MaxPerBoard))
                {
                    Execute("DELETE FROM leaderboard_history WHERE board = $board AND at_us = $at", ("board", board), ("at", Microseconds(discard)));
                }
                transaction.Commit();
            }
            _last[board] = (atUs, games, json);
            return true;
        }
    }

    /// <summary>The newest <paramref name="limit"/> snapshots of <paramref name="board"/>, oldest first.</summary>
    public List<HistorySnapshot> Read(string board, int limit)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT at_us, games, models FROM leaderboard_history WHERE board = $board ORDER BY at_us DESC LIMIT $limit";
            command.Parameters.Add(new DuckDBParameter("board", board));
            command.Parameters.Add(new DuckDBParameter("limit", limit));
            using var reader = command.ExecuteReader();
            var snapshots = new List<HistorySnapshot>();
            while (reader.Read())
            {
                snapshots.Add(new HistorySnapshot(FromMicroseconds(reader.GetInt64(0)), reader.GetInt32(1), reader.GetString(2)));
            }
            snapshots.Reverse();
            return snapshots;
        }
    }

    private List<DateTimeOffset> TimesOf(string board)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT at_us FROM leaderboard_history WHERE board = $board";
        command.Parameters.Add(new DuckDBParameter("board", board));
        using var reader = command.ExecuteReader();
        var times = new List<DateTimeOffset>();
        while (reader.Read())
        {
            times.Add(FromMicroseconds(reader.GetInt64(0)));
        }
        return times;
    }

    private void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(new DuckDBParameter(name, value));
        }
        command.ExecuteNonQuery();
    }

    private static string Serialize(IEnumerable<HistoryModel> models)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var m in models)
            {
                w.WriteStartObject();
                w.WriteString("model", m.Model);
                w.WriteNumber("rating", m.Rating);
                w.WriteNumber("ci_low", m.CiLow);
                w.WriteNumber("ci_high", m.CiHigh);
                w.WriteNumber("rank", m.Rank);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static long Microseconds(DateTimeOffset at) => (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static DateTimeOffset FromMicroseconds(long us) => DateTimeOffset.UnixEpoch.AddTicks(us * 10);

    public void Dispose() => _connection.Dispose();
}
