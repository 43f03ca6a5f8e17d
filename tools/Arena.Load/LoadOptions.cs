using Arena.Contracts;

namespace Arena.Load;

/// <summary>What <see cref="LoadRun"/> does. Every property has a usable default except the stop condition's choice.</summary>
public sealed record LoadOptions
{
    public const int MaxBatch = 1000;
    public const int MaxEventBytes = 65_536;

    /// <summary>Ingest's base URL.</summary>
    public Uri IngestUrl { get; init; } = new("http://127.0.0.1:8081");

    /// <summary>Events per second, paced on an absolute schedule; <c>null</c> = flat out.</summary>
    public double? Rate { get; init; }

    /// <summary>Stop sending after this long (counted from the first send). At least one of this and <see cref="Events"/>.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Stop after this many events. With <see cref="Duration"/> too, whichever comes first.</summary>
    public long? Events { get; init; }

    /// <summary>Events per request, 1–1000.</summary>
    public int Batch { get; init; } = 10;

    /// <summary>Runs the events are spread over (batches round-robin; each run's seq counts from 1).</summary>
    public int Runs { get; init; } = 10;

    /// <summary>Approximate size of one envelope in bytes, reached with padding in the observation.</summary>
    public int EventBytes { get; init; } = 300;

    /// <summary>HTTP/1.1 connections to ingest; also the most requests in flight.</summary>
    public int Connections { get; init; } = 8;

    public string? ApiKey { get; init; }

    /// <summary>The read token the gateway and the persister ask for, when one is set there.</summary>
    public string? ReadToken { get; init; }

    /// <summary>Give each event a producer <c>event_id</c> (<c>run_id:seq</c>), which ingest dedupes on.</summary>
    public bool EventIds { get; init; } = true;

    /// <summary>Prefix of the run IDs (<c>prefix-0</c>, <c>prefix-1</c>, …); unique per run by default.</summary>
    public string? RunPrefix { get; init; }

    /// <summary>SSE gateway base URL; with <see cref="SseClients"/> &gt; 0, clients subscribe with <c>?from=live</c> before sending starts.</summary>
    public Uri? SseUrl { get; init; }

    public int SseClients { get; init; }

    /// <summary>Spread the SSE clients over the runs (client <c>i</c> on run <c>i mod runs</c>) instead of all on the first run.</summary>
    public bool SseSpread { get; init; }

    /// <summary>How long to wait after sending for the SSE clients to receive every event.</summary>
    public TimeSpan SseDrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Persister base URL; when set, its committed high-water marks (<c>GET /v1/committed</c>) are polled for ingest → commit lag.</summary>
    public Uri? PersisterUrl { get; init; }

    public TimeSpan PersisterPoll { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The commit lag the run is checked against (reported, never enforced).</summary>
    public TimeSpan LagThreshold { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long to keep polling after sending for the persister to show every accepted event.</summary>
    public TimeSpan PersisterDrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called about once a second from a background task while the run lasts.</summary>
    public Action<LoadProgress>? Progress { get; init; }

    /// <summary>Every problem with these options, as messages naming the option; empty when valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!IsHttp(IngestUrl))
        {
            problems.Add("ingest URL must be an absolute http(s) URL");
        }
        if (Rate is { } rate && !(rate > 0 && double.IsFinite(rate)))
        {
            problems.Add($"rate must be a positive number of events per second (got {rate})");
        }
        if (Duration is null && Events is null)
        {
            problems.Add("give a duration or an event count");
        }
        if (Duration is { } duration && duration <= TimeSpan.Zero)
        {
            problems.Add("duration must be positive");
        }
        if (Events is < 1)
        {
            problems.Add("events must be at least 1");
        }
        if (Batch is < 1 or > MaxBatch)
        {
            problems.Add($"batch must be from 1 to {MaxBatch} (got {Batch})");
        }
        if (Runs < 1)
        {
            problems.Add($"runs must be at least 1 (got {Runs})");
        }
        if (EventBytes is < 1 or > MaxEventBytes)
        {
            problems.Add($"event size must be from 1 to {MaxEventBytes} bytes (got {EventBytes})");
        }
        if (Connections is < 1 or > 10_000)
        {
            problems.Add($"connections must be from 1 to 10000 (got {Connections})");
        }
        if (RunPrefix is { } prefix && (!EnvelopeRules.Id().IsMatch(prefix) || prefix.Length > 80))
        {
            problems.Add("run prefix must be 1 to 80 characters of A-Z a-z 0-9 . _ : -");
        }
        if (SseClients < 0 || SseClients > 100_000)
        {
            problems.Add($"SSE clients must be from 0 to 100000 (got {SseClients})");
        }
        if (SseClients > 0 && SseUrl is null)
        {
            problems.Add("SSE clients need the gateway URL");
        }
        if (SseUrl is not null && !IsHttp(SseUrl))
        {
            problems.Add("SSE gateway URL must be an absolute http(s) URL");
        }
        if (PersisterUrl is not null && !IsHttp(PersisterUrl))
        {
            problems.Add("persister URL must be an absolute http(s) URL");
        }
        if (PersisterPoll <= TimeSpan.Zero || LagThreshold <= TimeSpan.Zero)
        {
            problems.Add("the persister poll interval and the lag threshold must be positive");
        }
        return problems;
    }

    private static bool IsHttp(Uri? uri) => uri is { IsAbsoluteUri: true } && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>A once-a-second snapshot while a run lasts.</summary>
public sealed record LoadProgress(
    string Phase,
    double ElapsedSeconds,
    long EventsSent,
    long EventsAccepted,
    double AcceptedPerSecond,
    long Errors,
    double? SseDeliveriesPerSecond,
    double? CommitLagMs);
