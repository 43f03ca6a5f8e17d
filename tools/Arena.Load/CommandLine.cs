using System.Globalization;

namespace Arena.Load;

/// <summary>The arena-load command line: options in, <see cref="LoadOptions"/> out, or a message naming what is wrong.</summary>
internal static class CommandLine
{
    public const string Usage = """
        usage: arena-load [options]
          --url URL             ingest base URL (default http://127.0.0.1:8081)
          --rate N|max          events per second on a fixed schedule, or max = flat out (default max)
          --duration S          seconds to send for (default 10 unless --events is given)
          --events N            events to send (with --duration: whichever comes first)
          --batch N             events per request, 1-1000 (default 10)
          --runs N              run_ids the events are spread over (default 10)
          --payload-bytes N     approximate size of each event in bytes, padded in the observation (default 300)
          --connections N       HTTP/1.1 connections to ingest = requests in flight (default 8)
          --api-key KEY         API key for ingest (default: $ARENA_API_KEY)
          --read-token TOKEN    read token for the SSE gateway and the persister (default: $ARENA_READ_TOKEN)
          --no-event-ids        send events without event_id (ingest assigns one; no dedupe)
          --run-prefix P        prefix of the run_ids (default load-<utc time>-<random>)
          --sse URL             SSE gateway base URL: measure ingest -> delivery latency
          --sse-clients N       SSE clients, subscribed with ?from=live before sending (default 1 with --sse)
          --sse-spread          spread the SSE clients over the runs (default: all on the first run)
          --persister URL       persister base URL: poll each run's event count for ingest -> commit lag
          --persister-poll-ms N how often to poll the persister (default 100)
          --lag-threshold-ms N  commit lag to check the run against (default 1000)
          --json                print the result as JSON on stdout instead of the summary
          --help                this text
        Progress goes to stderr once a second.
        """;

    private static readonly HashSet<string> Flags = ["json", "help", "sse-spread", "no-event-ids"];
    private static readonly HashSet<string> Valued =
    [
        "url", "rate", "duration", "events", "batch", "runs", "payload-bytes", "connections", "api-key", "read-token",
        "run-prefix", "sse", "sse-clients", "persister", "persister-poll-ms", "lag-threshold-ms",
    ];

    /// <summary>Parses <paramref name="args"/>; on failure <paramref name="error"/> says why (exit code 2).</summary>
    public static bool TryParse(string[] args, out LoadOptions options, out bool json, out bool help, out string? error)
    {
        options = new LoadOptions();
        json = false;
        help = false;
        error = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                error = $"unexpected argument '{arg}'";
                return false;
            }
            var name = arg[2..];
            string? inline = null;
            if (name.IndexOf('=', StringComparison.Ordinal) is var eq and > 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            if (Flags.Contains(name) && inline is null)
            {
                flags.Add(name);
            }
            else if (Valued.Contains(name))
            {
                if (inline is null && (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
                {
                    error = $"--{name} needs a value";
                    return false;
                }
                values[name] = inline ?? args[++i];
            }
            else
            {
                error = $"unknown option --{name}";
                return false;
            }
        }
        json = flags.Contains("json");
        help = flags.Contains("help");
        if (help)
        {
            return true;
        }

        try
        {
            var rate = values.GetValueOrDefault("rate", "max");
            var events = values.TryGetValue("events", out var e) ? Long("events", e, 1) : (long?)null;
            var duration = values.TryGetValue("duration", out var d) ? TimeSpan.FromSeconds(Number("duration", d)) : (TimeSpan?)null;
            var sse = values.TryGetValue("sse", out var s) ? Url("sse", s) : null;
            var apiKey = values.GetValueOrDefault("api-key") ?? Environment.GetEnvironmentVariable("ARENA_API_KEY");
            var readToken = values.GetValueOrDefault("read-token") ?? Environment.GetEnvironmentVariable("ARENA_READ_TOKEN");
            options = new LoadOptions
            {
                IngestUrl = Url("url", values.GetValueOrDefault("url", "http://127.0.0.1:8081")),
                Rate = rate == "max" ? null : Number("rate", rate),
                Events = events,
                Duration = duration ?? (events is null ? TimeSpan.FromSeconds(10) : null),
                Batch = Int("batch", values.GetValueOrDefault("batch", "10"), 1, LoadOptions.MaxBatch),
                Runs = Int("runs", values.GetValueOrDefault("runs", "10"), 1, int.MaxValue),
                EventBytes = Int("payload-bytes", values.GetValueOrDefault("payload-bytes", "300"), 1, LoadOptions.MaxEventBytes),
                Connections = Int("connections", values.GetValueOrDefault("connections", "8"), 1, 10_000),
                ApiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey,
                ReadToken = string.IsNullOrEmpty(readToken) ? null : readToken,
                EventIds = !flags.Contains("no-event-ids"),
                RunPrefix = values.GetValueOrDefault("run-prefix"),
                SseUrl = sse,
                SseClients = values.TryGetValue("sse-clients", out var c) ? Int("sse-clients", c, 1, 100_000) : sse is null ? 0 : 1,
                SseSpread = flags.Contains("sse-spread"),
                PersisterUrl = values.TryGetValue("persister", out var p) ? Url("persister", p) : null,
                PersisterPoll = TimeSpan.FromMilliseconds(values.TryGetValue("persister-poll-ms", out var i) ? Number("persister-poll-ms", i) : 100),
                LagThreshold = TimeSpan.FromMilliseconds(values.TryGetValue("lag-threshold-ms", out var l) ? Number("lag-threshold-ms", l) : 1000),
            };
        }
        catch (FormatException problem)
        {
            error = problem.Message;
            return false;
        }
        if (options.SseClients > 0 && options.SseUrl is null)
        {
            error = "--sse-clients needs --sse <gateway URL>";
            return false;
        }
        if (options.SseSpread && options.SseUrl is null)
        {
            error = "--sse-spread needs --sse <gateway URL>";
            return false;
        }
        if (options.Problems() is [var first, ..])
        {
            error = first;
            return false;
        }
        return true;
    }

    private static int Int(string name, string text, int minimum, int maximum) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= minimum && value <= maximum
            ? value
            : throw new FormatException(maximum == int.MaxValue
                ? $"--{name} must be an integer of at least {minimum} (got '{text}')"
                : $"--{name} must be an integer from {minimum} to {maximum} (got '{text}')");

    private static long Long(string name, string text, long minimum) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? value
            : throw new FormatException($"--{name} must be an integer of at least {minimum} (got '{text}')");

    private static double Number(string name, string text) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value > 0 && double.IsFinite(value)
            ? value
            : throw new FormatException($"--{name} must be a positive number (got '{text}')");

    private static Uri Url(string name, string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new FormatException($"--{name} must be an absolute http(s) URL (got '{text}')");
}
