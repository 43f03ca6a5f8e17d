using Arena.Contracts;
using Arena.SseGateway;

namespace Arena.Pipeline.Tests;

/// <summary>The gateway's event names: no arena type may be dispatched under a name EventSource uses itself.</summary>
public sealed class SseFramingTests
{
    [Theory]
    [InlineData(EventTypes.Error, "arena.error")]
    [InlineData("open", "arena.open")]
    [InlineData("message", "arena.message")]
    [InlineData(EventTypes.GameEnd, EventTypes.GameEnd)]
    [InlineData("arena_error", "arena_error")]
    public void Event_name_is_the_type_unless_EventSource_reserves_it(string type, string name)
    {
        Assert.Equal(name, SseWriter.EventName(type));
        Assert.StartsWith($"id: 1-0\nevent: {name}\ndata: {{}}\n\n", SseWriter.Frame("1-0", type, "{}"), StringComparison.Ordinal);
    }

    [Fact]
    public void No_two_types_share_an_event_name_and_none_is_reserved()
    {
        // Every reserved name, every v1 type, and types shaped like a prefixed name.
        string[] types = ["message", "open", "error", "arena", "arena_error", "arena_open", "game_start", "turn_start", "observation",
            "llm_response", "action", "game_end", "stream_overflow", "leaderboard_updated"];
        Assert.All(types, t => Assert.Matches(EnvelopeRules.Type(), t));

        var names = types.Select(SseWriter.EventName).ToList();

        Assert.Equal(types.Length, names.Distinct().Count());
        Assert.DoesNotContain(names, n => SseWriter.ReservedNames.Contains(n));
    }
}
