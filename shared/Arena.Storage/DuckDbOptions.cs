using System.ComponentModel.DataAnnotations;

namespace Arena.Storage;

/// <summary>
/// The memory and threads a service's DuckDB may take, bound from the section of the service that
/// owns the file (<c>Persister__DuckDbMemoryLimit</c>, <c>Ranker__DuckDbThreads</c>, …).
/// </summary>
public sealed class DuckDbOptions
{
    /// <summary>
    /// DuckDB's <c>memory_limit</c>, e.g. <c>256MB</c> or <c>2GB</c>; empty keeps DuckDB's default,
    /// 80% of the machine's memory. DuckDB keeps the table blocks it has written cached up to its
    /// limit, so without one the service's resident memory grows with its file until then.
    /// </summary>
    [RegularExpression(@"^([0-9]+(\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB))?$",
        ErrorMessage = "DuckDbMemoryLimit must be empty (DuckDB's default) or a size such as 256MB or 2GB.")]
    public string DuckDbMemoryLimit { get; set; } = "";

    /// <summary>
    /// DuckDB's <c>threads</c>; 0 takes one fewer than the machine's cores, at least one. A writer's
    /// appends gain nothing from DuckDB's worker threads, which spin between its tasks on cores the
    /// other services need (the persister at 10,000 events/s on 2 cores: 30–33 µs of CPU per event
    /// with one thread, 38–39 with two); large reads such as a Parquet export do use them.
    /// </summary>
    [Range(0, 1024)]
    public int DuckDbThreads { get; set; }

    /// <summary>The threads DuckDB runs with on a machine of <paramref name="cores"/> cores.</summary>
    public int ThreadsOn(int cores) => DuckDbThreads > 0 ? DuckDbThreads : Math.Max(1, cores - 1);
}
