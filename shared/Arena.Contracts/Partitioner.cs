using System.Text;

namespace Arena.Contracts;

/// <summary>
/// Maps a run to its partition: 32-bit FNV-1a over the UTF-8 bytes of <c>run_id</c>, modulo
/// the partition count. Stable across processes, versions and languages, so a run's events
/// always land on one stream and stay in order.
/// </summary>
public static class Partitioner
{
    public static int PartitionOf(string runId, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        if (partitions == 1)
        {
            return 0;
        }

        Span<byte> buffer = stackalloc byte[EnvelopeRules.MaxIdLength * 3];
        var length = Encoding.UTF8.GetBytes(runId, buffer);
        var hash = 2166136261u;
        foreach (var b in buffer[..length])
        {
            hash = (hash ^ b) * 16777619u;
        }
        return (int)(hash % (uint)partitions);
    }
}
