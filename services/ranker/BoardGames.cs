using Arena.Ranker.Rating;
using Arena.Ranker.Storage;

namespace Arena.Ranker;

/// <summary>The games of each leaderboard, derived from the set of games and the runs' game_starts alone.</summary>
internal static class BoardGames
{
    /// <summary>
    /// Every game goes to the global leaderboard, and to its game's when a game_start of its run
    /// has been seen; a game of a run that is not ranked goes nowhere. Each list keeps the order
    /// of <paramref name="games"/>.
    /// </summary>
    public static (List<Game> Global, SortedDictionary<string, List<Game>> ByGame) Partition(IReadOnlyList<Game> games, IReadOnlyDictionary<string, RunInfo> runs)
    {
        var global = new List<Game>(games.Count);
        var byGame = new SortedDictionary<string, List<Game>>(StringComparer.Ordinal);
        foreach (var game in games)
        {
            if (runs.TryGetValue(game.RunId, out var run))
            {
                if (!run.Ranked)
                {
                    continue;
                }
                if (!byGame.TryGetValue(run.Game, out var list))
                {
                    byGame[run.Game] = list = [];
                }
                list.Add(game);
            }
            global.Add(game);
        }
        return (global, byGame);
    }
}
