using System.Globalization;
using System.Text.Json;
using Arena.Contracts.Validation;
using Arena.Ranker.Storage;
using Arena.Security;
using Arena.ServiceDefaults;

namespace Arena.Ranker;

/// <summary>
/// <c>GET /v1/leaderboards</c>, <c>GET /v1/leaderboard</c> (global, or one game's with <c>?game=</c>),
/// its history and head-to-head records, and <c>GET /v1/models/{model}</c>.
/// </summary>
public static class LeaderboardEndpoints
{
    private const int DefaultHistoryLimit = 500;

    public static void MapLeaderboard(this WebApplication app)
    {
        var read = app.MapGroup("/v1").RequireReadAccess()
            .ProducesBody(StatusCodes.Status200OK, "application/json")
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);
        read.MapGet("/leaderboards", (LeaderboardService service) =>
            service.Boards is { } boards ? JsonResponse.Write(w => WriteLeaderboards(w, boards)) : NotReady())
            .WithName("Leaderboards").WithSummary("Each game with ranked games: its games and models");
        read.MapGet("/leaderboard", (LeaderboardService service, string? game) =>
            Board(service, game, out var snapshot) ?? JsonResponse.Write(w => WriteLeaderboard(w, snapshot!)))
            .WithName("Leaderboard").WithSummary("Every ranked model, of all games or of one: rating, 95% interval, rank, record and statistics")
            .ProducesProblems(StatusCodes.Status404NotFound);
        read.MapGet("/leaderboard/history", (LeaderboardService service, LeaderboardHistory history, string? game, string? model, string? limit) =>
        {
            if (!TryLimit(limit, out var max, out var badLimit))
            {
                return badLimit;
            }
            return Board(service, game, out _) ?? JsonResponse.Write(w => WriteHistory(w, game, model, history.Read(game ?? LeaderboardHistory.Global, max)));
        }).WithName("LeaderboardHistory").WithSummary("The leaderboard after each fit that changed it, oldest first, thinned with age")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        read.MapGet("/leaderboard/head-to-head", (LeaderboardService service, string? game) =>
            Board(service, game, out var snapshot) ?? JsonResponse.Write(w => WriteHeadToHead(w, game, snapshot!)))
            .WithName("HeadToHead").WithSummary("Every pair of models that met: games, wins, losses and draws from the first one's side")
            .ProducesProblems(StatusCodes.Status404NotFound);
        read.MapGet("/models/{model}", (LeaderboardService service, string model) =>
        {
            if (service.Current is not { } snapshot)
            {
                return NotReady();
            }
            return snapshot.Models.FirstOrDefault(m => m.Rating.Model == model) is { } entry
                ? JsonResponse.Write(w => WriteModel(w, entry))
                : Problem.Create(StatusCodes.Status404NotFound, "unknown-model", "Unknown model",
                    $"No game with model '{model}' has been ranked.").ToResult();
        }).WithName("Model").WithSummary("One model's leaderboard entry").ProducesProblems(StatusCodes.Status404NotFound);
    }

    /// <summary>The leaderboard <paramref name="game"/> names (none: the global one), or the problem why there is none.</summary>
    private static IResult? Board(LeaderboardService service, string? game, out LeaderboardSnapshot? snapshot)
    {
        snapshot = null;
        if (service.Boards is not { } boards)
        {
            return NotReady();
        }
        if (game is null)
        {
            snapshot = boards.Global;
        }
        else if (!boards.ByGame.TryGetValue(game, out snapshot))
        {
            return UnknownGame(game);
        }
        return null;
    }

    private static bool TryLimit(string? text, out int limit, out IResult problem)
    {
        problem = Results.Empty;
        limit = DefaultHistoryLimit;
        if (text is null
            || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= LeaderboardHistory.MaxPerBoard))
        {
            return true;
        }
        var message = $"must be an integer from 1 to {LeaderboardHistory.MaxPerBoard} (got '{text}')";
        problem = Problem.Create(StatusCodes.Status400BadRequest, "invalid-query", "Invalid query", $"limit {message}",
            [new ValidationError(0, "limit", message)]).ToResult();
        return false;
    }

    private static void WriteHistory(Utf8JsonWriter w, string? game, string? model, List<HistorySnapshot> snapshots)
    {
        w.WriteStartObject();
        WriteGame(w, game);
        w.WriteStartArray("snapshots");
        foreach (var snapshot in snapshots)
        {
            w.WriteStartObject();
            w.WriteString("at", snapshot.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("games", snapshot.Games);
            w.WritePropertyName("models");
            if (model is null)
            {
                w.WriteRawValue(snapshot.Models, skipInputValidation: true);
            }
            else
            {
                using var models = JsonDocument.Parse(snapshot.Models);
                w.WriteStartArray();
                foreach (var entry in models.RootElement.EnumerateArray().Where(e => e.GetProperty("model").GetString() == model))
                {
                    entry.WriteTo(w);
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static IResult UnknownGame(string game) =>
        Problem.Create(StatusCodes.Status404NotFound, "unknown-game", "Unknown game", $"No ranked game of '{game}' has been seen.").ToResult();

    private static void WriteHeadToHead(Utf8JsonWriter w, string? game, LeaderboardSnapshot snapshot)
    {
        w.WriteStartObject();
        WriteGame(w, game);
        w.WriteStartArray("models");
        foreach (var entry in snapshot.Models)
        {
            w.WriteStringValue(entry.Rating.Model);
        }
        w.WriteEndArray();
        w.WriteStartArray("pairs");
        foreach (var pair in snapshot.Pairs)
        {
            w.WriteStartObject();
            w.WriteString("a", pair.A);
            w.WriteString("b", pair.B);
            w.WriteNumber("games", pair.Games);
            w.WriteNumber("wins", pair.Wins);
            w.WriteNumber("losses", pair.Losses);
            w.WriteNumber("draws", pair.Draws);
            w.WriteNumber("win_rate", pair.WinRate);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteGame(Utf8JsonWriter w, string? game)
    {
        if (game is null)
        {
            w.WriteNull("game");
        }
        else
        {
            w.WriteString("game", game);
        }
    }

    private static IResult NotReady() =>
        Problem.Create(StatusCodes.Status503ServiceUnavailable, "not-ready", "Leaderboard not ready", "The first fit has not finished yet.").ToResult();

    private static void WriteLeaderboards(Utf8JsonWriter w, Leaderboards boards)
    {
        w.WriteStartObject();
        w.WriteStartArray("leaderboards");
        foreach (var (game, board) in boards.ByGame)
        {
            w.WriteStartObject();
            w.WriteString("game", game);
            w.WriteNumber("games", board.Games);
            w.WriteNumber("models", board.Models.Count);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteLeaderboard(Utf8JsonWriter w, LeaderboardSnapshot snapshot)
    {
        w.WriteStartObject();
        if (snapshot.Game is { } game)
        {
            w.WriteString("game", game);
        }
        w.WriteString("updated_at", snapshot.UpdatedAt);
        w.WriteNumber("games", snapshot.Games);
        w.WriteString("method", snapshot.Method);
        w.WriteStartArray("models");
        foreach (var entry in snapshot.Models)
        {
            WriteModel(w, entry);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteModel(Utf8JsonWriter w, LeaderboardEntry e)
    {
        w.WriteStartObject();
        w.WriteString("model", e.Rating.Model);
        w.WriteNumber("rating", e.Rating.Rating);
        w.WriteNumber("ci_low", e.Rating.CiLow);
        w.WriteNumber("ci_high", e.Rating.CiHigh);
        w.WriteNumber("rank", e.Rating.Rank);
        w.WriteNumber("games", e.Games);
        w.WriteNumber("wins", e.Wins);
        w.WriteNumber("losses", e.Losses);
        w.WriteNumber("draws", e.Draws);
        w.WriteNumber("elo_online", e.Rating.EloOnline);
        Nullable(w, "avg_latency_ms", e.Stats.AvgLatencyMs);
        w.WriteNumber("tokens", e.Stats.Tokens);
        Nullable(w, "invalid_action_rate", e.Stats.InvalidActionRate);
        Nullable(w, "cost_usd", e.Stats.CostUsd);
        w.WriteEndObject();
    }

    private static void Nullable(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
