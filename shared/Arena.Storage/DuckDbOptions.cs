using System.ComponentModel.DataAnnotations;

namespace Arena.Storage;

/// <summary>
/// The memory a service's DuckDB may take, bound from the section of the service that owns the
/// file (<c>Persister__DuckDbMemoryLimit</c>, <c>Ranker__DuckDbMemoryLimit</c>).
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
}
