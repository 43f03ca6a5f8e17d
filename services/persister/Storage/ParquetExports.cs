using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Arena.Persister.Storage;

/// <summary>
/// Where Parquet exports are written before they are sent: a folder of the data dir, on the
/// disk that holds the store rather than in memory. A file is unlinked as soon as it is open
/// for sending, so it is gone when its response ends, however that ends; whatever a killed
/// process left between writing and opening is removed at start-up.
/// </summary>
public sealed class ParquetExports(IOptions<ArenaOptions> arena, ILogger<ParquetExports> logger) : IHostedService
{
    public const string FolderName = "persister-exports";

    public string Folder { get; } = Path.GetFullPath(Path.Combine(arena.Value.DataDir, FolderName));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        var leftOvers = Directory.GetFiles(Folder, "*.parquet");
        foreach (var file in leftOvers)
        {
            File.Delete(file);
        }
        if (leftOvers.Length > 0)
        {
            logger.LogInformation("Removed {Count} unfinished Parquet exports from {Folder}", leftOvers.Length, Folder);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string NewPath() => Path.Combine(Folder, $"{Guid.NewGuid():N}.parquet");

    /// <summary>Opens a written export for sending and unlinks it: the open handle keeps its data until it is closed.</summary>
    public static FileStream OpenAndUnlink(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        File.Delete(path);
        return stream;
    }
}
