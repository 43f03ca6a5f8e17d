namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>
/// The services as the tests start them, each with its test settings and its last lines written
/// to the test's output when disposed. They return at once: await <see cref="ServiceProcess.WaitReadyAsync"/>.
/// </summary>
internal static class TestServices
{
    public static ServiceProcess Ingest(IRedisTarget redis, ITestOutputHelper log, IDictionary<string, string>? settings = null) =>
        Start("ingest", log, With(settings, ("Arena__Redis", redis.Configuration)));

    public static ServiceProcess Persister(IRedisTarget redis, string dataDir, ITestOutputHelper log, IDictionary<string, string>? settings = null) =>
        Start("persister", log, With(settings, ("Arena__Redis", redis.Configuration), ("Arena__DataDir", dataDir), ("Persister__ConsumerName", "persister-test")));

    public static ServiceProcess Ranker(IRedisTarget redis, string dataDir, ITestOutputHelper log, IDictionary<string, string>? settings = null) =>
        Start("ranker", log, With(settings, ("Arena__Redis", redis.Configuration), ("Arena__DataDir", dataDir), ("Ranker__RecomputeDebounce", "00:00:00.100"),
            ("Ranker__ClaimMinIdle", "00:00:01"), ("Ranker__ClaimInterval", "00:00:00.200")));

    /// <param name="port">A port to listen on, e.g. a killed gateway's, so that clients reconnect to its successor; a free one by default.</param>
    public static ServiceProcess Gateway(IRedisTarget redis, ITestOutputHelper log, ServiceProcess? persister = null, IDictionary<string, string>? settings = null,
        int? port = null) =>
        Start("sse-gateway", log, With(settings, ("Arena__Redis", redis.Configuration),
            ("SseGateway__PersisterUrl", persister?.Url.ToString() ?? "http://127.0.0.1:1")), port);

    private static ServiceProcess Start(string service, ITestOutputHelper log, Dictionary<string, string> environment, int? port = null) =>
        ServiceProcess.Start(service, ServiceProcess.Binary(service), environment, log.WriteLine, port);

    private static Dictionary<string, string> With(IDictionary<string, string>? settings, params (string Key, string Value)[] defaults)
    {
        var all = defaults.ToDictionary(d => d.Key, d => d.Value);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        return all;
    }
}
