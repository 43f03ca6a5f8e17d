using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using Arena.Cli;

namespace Arena.Load;

/// <summary>The arena-load command line: options in, <see cref="LoadOptions"/> out, or a message naming what is wrong.</summary>
internal static class CommandLine
{
    /// <summary>The command; <paramref name="run"/> gets the options read and whether <c>--json</c> was given, and returns the exit code.</summary>
    public static Command Command(Func<LoadOptions, bool, Task<int>> run)
    {
        var symbols = new Symbols();
        var root = symbols.Root();
        root.SetAction(async parse => symbols.TryRead(parse, out var options, out var error)
            ? await run(options, parse.GetValue(symbols.Json))
            : await ToolCommand.UsageAsync(parse.CommandResult, error, parse.InvocationConfiguration.Error));
        return root;
    }

    /// <summary>Parses <paramref name="args"/> as the command does; on failure <paramref name="error"/> says why (exit code 2).</summary>
    public static bool TryParse(string[] args, out LoadOptions options, out bool json, out bool help, out string? error)
    {
        var symbols = new Symbols();
        var parse = symbols.Root().Parse(args);
        json = parse.GetValue(symbols.Json);
        help = parse.Action is HelpAction;
        options = new LoadOptions();
        error = parse.Errors.FirstOrDefault()?.Message;
        return error is null && (help || symbols.TryRead(parse, out options, out error));
    }

    private sealed class Symbols
    {
        public readonly Option<bool> Json = new("--json") { Description = "print the result as JSON on stdout instead of the summary" };
        private readonly Option<Uri?> _url = ToolCommand.HttpUrl("--url", "ingest base URL", new Uri("http://127.0.0.1:8081"));
        private readonly Option<double?> _rate = new("--rate")
        {
            HelpName = "N|max",
            Description = "events per second on a fixed schedule, or max = flat out [default: max]",
            // "max" is read as infinity: a custom parser's null is no value the parse result can hand back.
            CustomParser = result => result.Tokens.Single().Value is "max" ? double.PositiveInfinity : Positive(result),
        };
        private readonly Option<double?> _duration = new("--duration")
        {
            HelpName = "S",
            Description = "seconds to send for (default 10 unless --events is given)",
            CustomParser = Positive,
        };
        private readonly Option<long?> _events = new("--events")
        {
            HelpName = "N",
            Description = "events to send (with --duration: whichever comes first)",
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1)
                {
                    return value;
                }
                result.AddError($"--events must be an integer of at least 1 (got '{text}')");
                return null;
            },
        };
        private readonly Option<int> _batch = ToolCommand.Int("--batch", "events per request", 10, 1, LoadOptions.MaxBatch);
        private readonly Option<int> _runs = ToolCommand.Int("--runs", "run_ids the events are spread over", 10, minimum: 1);
        private readonly Option<int> _payloadBytes = ToolCommand.Int("--payload-bytes",
            "approximate size of each event in bytes, padded in the observation", 300, 1, LoadOptions.MaxEventBytes);
        private readonly Option<int> _connections = ToolCommand.Int("--connections", "HTTP/1.1 connections to ingest = requests in flight", 8, 1, 10_000);
        private readonly Option<string?> _apiKey = new("--api-key") { HelpName = "KEY", Description = "API key for ingest (default: $ARENA_API_KEY)" };
        private readonly Option<string?> _readToken = new("--read-token")
        {
            HelpName = "TOKEN",
            Description = "read token for the SSE gateway and the persister (default: $ARENA_READ_TOKEN)",
        };
        private readonly Option<bool> _noEventIds = new("--no-event-ids") { Description = "send events without event_id (ingest assigns one; no dedupe)" };
        private readonly Option<string?> _runPrefix = new("--run-prefix") { HelpName = "P", Description = "prefix of the run_ids (default load-<utc time>-<random>)" };
        private readonly Option<Uri?> _sse = ToolCommand.HttpUrl("--sse", "SSE gateway base URL: measure ingest -> delivery latency");
        private readonly Option<int?> _sseClients = ToolCommand.OptionalInt("--sse-clients",
            "SSE clients, subscribed with ?from=live before sending (default 1 with --sse)", 1, 100_000);
        private readonly Option<bool> _sseSpread = new("--sse-spread") { Description = "spread the SSE clients over the runs (default: all on the first run)" };
        private readonly Option<Uri?> _persister = ToolCommand.HttpUrl("--persister", "persister base URL: poll its committed high-water marks for ingest -> commit lag");
        private readonly Option<double?> _persisterPoll = new("--persister-poll-ms")
        {
            HelpName = "N",
            Description = "how often to poll the persister [default: 100]",
            CustomParser = Positive,
        };
        private readonly Option<double?> _lagThreshold = new("--lag-threshold-ms")
        {
            HelpName = "N",
            Description = "commit lag to check the run against [default: 1000]",
            CustomParser = Positive,
        };

        public Command Root()
        {
            var root = ToolCommand.Root("arena-load",
                "Drives ingest at a fixed rate or flat out and measures acceptance, request latency, and optionally ingest -> SSE delivery " +
                "and ingest -> commit lag. Progress goes to stderr once a second when stderr is a terminal.",
                typeof(CommandLine).Assembly);
            foreach (var option in new Option[]
            {
                _url, _rate, _duration, _events, _batch, _runs, _payloadBytes, _connections, _apiKey, _readToken, _noEventIds, _runPrefix,
                _sse, _sseClients, _sseSpread, _persister, _persisterPoll, _lagThreshold, Json,
            })
            {
                root.Options.Add(option);
            }
            return root;
        }

        /// <summary>The options of a parse without errors, checked together; false with the first problem.</summary>
        public bool TryRead(ParseResult parse, out LoadOptions options, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
        {
            var events = parse.GetValue(_events);
            var sse = parse.GetValue(_sse);
            var apiKey = parse.GetValue(_apiKey) ?? Environment.GetEnvironmentVariable("ARENA_API_KEY");
            var readToken = parse.GetValue(_readToken) ?? Environment.GetEnvironmentVariable("ARENA_READ_TOKEN");
            options = new LoadOptions
            {
                IngestUrl = parse.GetValue(_url)!,
                Rate = parse.GetValue(_rate) is { } rate && double.IsFinite(rate) ? rate : null,
                Events = events,
                Duration = parse.GetValue(_duration) is { } seconds ? TimeSpan.FromSeconds(seconds) : events is null ? TimeSpan.FromSeconds(10) : null,
                Batch = parse.GetValue(_batch),
                Runs = parse.GetValue(_runs),
                EventBytes = parse.GetValue(_payloadBytes),
                Connections = parse.GetValue(_connections),
                ApiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey,
                ReadToken = string.IsNullOrEmpty(readToken) ? null : readToken,
                EventIds = !parse.GetValue(_noEventIds),
                RunPrefix = parse.GetValue(_runPrefix),
                SseUrl = sse,
                SseClients = parse.GetValue(_sseClients) ?? (sse is null ? 0 : 1),
                SseSpread = parse.GetValue(_sseSpread),
                PersisterUrl = parse.GetValue(_persister),
                PersisterPoll = TimeSpan.FromMilliseconds(parse.GetValue(_persisterPoll) ?? 100),
                LagThreshold = TimeSpan.FromMilliseconds(parse.GetValue(_lagThreshold) ?? 1000),
            };
            error = options.SseClients > 0 && options.SseUrl is null ? "--sse-clients needs --sse <gateway URL>"
                : options.SseSpread && options.SseUrl is null ? "--sse-spread needs --sse <gateway URL>"
                : options.Problems() is [var first, ..] ? first
                : null;
            return error is null;
        }

        private static double? Positive(ArgumentResult result)
        {
            var text = result.Tokens.Single().Value;
            if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value > 0 && double.IsFinite(value))
            {
                return value;
            }
            result.AddError($"{((OptionResult)result.Parent!).Option.Name} must be a positive number (got '{text}')");
            return null;
        }
    }
}
