using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>
/// Per test: a fresh Redis, a client on it, a temp data folder, and — for classes that set
/// <see cref="IngestSettings"/> — an ingest process.
/// </summary>
public abstract class PipelineTest(ITestOutputHelper output) : IAsyncLifetime
{
    private ServiceProcess? _ingest;

    protected ITestOutputHelper Output => output;
    protected string DataDir { get; } = Repo.NewTempDir("test");
    protected RedisServer Redis { get; private set; } = null!;
    protected ConnectionMultiplexer Client { get; private set; } = null!;
    protected IDatabase Db => Client.GetDatabase();
    protected ServiceProcess Ingest => _ingest ?? throw new InvalidOperationException("This test class starts no ingest; set IngestSettings.");

    /// <summary>Settings for an ingest process started before each test; null starts none.</summary>
    protected virtual IDictionary<string, string>? IngestSettings => null;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync(output);
        Client = await Redis.ConnectAsync();
        if (IngestSettings is { } settings)
        {
            _ingest = await TestServices.Ingest(Redis, output, settings).WaitReadyAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_ingest is not null)
        {
            await _ingest.DisposeAsync();
        }
        await Client.DisposeAsync();
        await Redis.DisposeAsync();
        Directory.Delete(DataDir, recursive: true);
    }
}
