namespace Arena.Ranker.Rating;

/// <summary>One finished game: its identity, its position in the stream, and each player's model and rank.</summary>
/// <param name="StreamOrder">The game_end's stream position; online Elo takes games by (ms, seq), then partition.</param>
public sealed record Game(string RunId, string EventId, (int Partition, long Ms, long Seq) StreamOrder, IReadOnlyList<Placement> Placements);

/// <summary>A player's model and rank in a game; rank 1 is best, equal ranks are ties.</summary>
public sealed record Placement(string Model, int Rank);

/// <summary>One model's fitted rating with its 95% bootstrap interval and its online Elo.</summary>
public sealed record ModelRating(string Model, double Rating, double CiLow, double CiHigh, int Rank, double EloOnline);
