using System.Globalization;
using System.Text;
using Arena.Contracts;

namespace Arena.Persister.Storage;

/// <summary>
/// Which stored events a read or an export takes: one run, some types, a range of <c>ts</c>
/// (<see cref="From"/> inclusive, <see cref="To"/> exclusive); null takes every value. Rendered as
/// SQL literals, because DuckDB's <c>COPY</c> takes no parameters: the values are checked against
/// their grammars here, so nothing else reaches the text.
/// </summary>
public sealed record EventFilter
{
    public EventFilter(string? runId = null, IReadOnlyList<string>? types = null, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        if (runId is not null && !EnvelopeRules.Id().IsMatch(runId))
        {
            throw new ArgumentException($"'{runId}' is not a run id", nameof(runId));
        }
        if (types?.FirstOrDefault(t => !EnvelopeRules.Type().IsMatch(t)) is { } bad)
        {
            throw new ArgumentException($"'{bad}' is not an event type", nameof(types));
        }
        RunId = runId;
        Types = types;
        From = from;
        To = to;
    }

    public static EventFilter All { get; } = new();

    public string? RunId { get; }
    public IReadOnlyList<string>? Types { get; }
    public DateTimeOffset? From { get; }
    public DateTimeOffset? To { get; }

    /// <summary>The condition on the <c>events</c> table, <c>true</c> when nothing is filtered.</summary>
    public string Sql()
    {
        var conditions = new List<string>();
        if (RunId is not null)
        {
            conditions.Add($"run_id = '{RunId}'");
        }
        if (Types is not null)
        {
            conditions.Add($"type IN ({string.Join(", ", Types.Select(t => $"'{t}'"))})");
        }
        if (From is { } from)
        {
            conditions.Add($"ts >= {Timestamp(from)}");
        }
        if (To is { } to)
        {
            conditions.Add($"ts < {Timestamp(to)}");
        }
        return conditions.Count == 0 ? "true" : string.Join(" AND ", conditions);
    }

    /// <summary>A name for files of this selection, e.g. <c>run-7_game_end_20261123T100000Z-20261124T000000Z</c>; <c>all</c> when unfiltered.</summary>
    public string FileNamePart()
    {
        var parts = new StringBuilder();
        void Add(string part) => parts.Append(parts.Length == 0 ? "" : "_").Append(part);
        if (RunId is not null)
        {
            Add(RunId.Replace(':', '-'));
        }
        if (Types is not null)
        {
            Add(string.Join('+', Types));
        }
        if (From is not null || To is not null)
        {
            Add($"{Compact(From)}-{Compact(To)}");
        }
        return parts.Length == 0 ? "all" : parts.ToString();
    }

    private static string Timestamp(DateTimeOffset instant) =>
        $"TIMESTAMPTZ '{instant.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'";

    private static string Compact(DateTimeOffset? instant) =>
        instant?.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) ?? "";
}
