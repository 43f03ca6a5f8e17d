namespace Arena.Chaos;

/// <summary>The processes a chaos run starts, by the names the harness knows them by.</summary>
public static class Services
{
    public const string Ingest = "ingest";
    public const string Persister = "persister";
    public const string Ranker = "ranker";
    public const string Gateway = "sse-gateway";
    public const string Redis = "redis-server";
}
