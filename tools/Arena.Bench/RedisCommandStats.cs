using System.Globalization;
using StackExchange.Redis;

namespace Arena.Bench;

/// <summary>
/// Redis's own accounting of the time it spent executing each command (<c>INFO commandstats</c>,
/// microseconds of CPU inside the command; reading and writing sockets and fsync not included).
/// A script's <c>evalsha</c> time includes the commands it calls, which are also counted under their own names.
/// </summary>
public sealed record RedisCommandStats(IReadOnlyDictionary<string, (long Calls, long Usec)> Commands)
{
    /// <summary>Starts the counting afresh (<c>CONFIG RESETSTAT</c>), e.g. after a warm-up.</summary>
    public static Task ResetAsync(IServer server) => server.ConfigResetStatisticsAsync();

    public static async Task<RedisCommandStats> ReadAsync(IServer server)
    {
        var commands = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var (key, value) in (await server.InfoAsync("commandstats")).SelectMany(g => g))
        {
            // cmdstat_xadd: calls=…,usec=…,usec_per_call=…,rejected_calls=…,failed_calls=…
            var fields = value.Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            commands[key["cmdstat_".Length..]] = (long.Parse(fields["calls"], CultureInfo.InvariantCulture), long.Parse(fields["usec"], CultureInfo.InvariantCulture));
        }
        return new RedisCommandStats(commands);
    }

    /// <summary>Microseconds per event spent in <paramref name="commands"/>, the ones a client sent itself: a script's time includes what it calls.</summary>
    public double UsecPer(long events, params string[] commands) =>
        commands.Sum(c => Commands.TryGetValue(c, out var stats) ? stats.Usec : 0) / (double)events;

    /// <summary>Each command's microseconds and calls per event, most time first, e.g. "evalsha 9.10 µs (0.01/event), xadd 2.30 µs (1.00/event)".</summary>
    public string Breakdown(long events) =>
        string.Join(", ", Commands.OrderByDescending(c => c.Value.Usec)
            .Where(c => c.Value.Usec >= events / 100) // the bench's own INFO, PING and CONFIG calls round to 0.00
            .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value.Usec / (double)events:F2} µs ({c.Value.Calls / (double)events:F2}/event)")));
}
