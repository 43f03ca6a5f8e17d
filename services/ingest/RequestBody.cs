using System.Buffers;

namespace Arena.Ingest;

/// <summary>
/// A request body in one array from the shared pool, grown as its bytes arrive rather than sized
/// by its <c>Content-Length</c> up front (a header costs the client nothing to send). Its capacity
/// is drawn from the <see cref="BodyMemoryBudget"/> and given back, with the array, on dispose:
/// after the request is answered, since parsed events point into it.
/// </summary>
public sealed class RequestBody(BodyMemoryBudget budget) : IDisposable
{
    /// <summary>The first array's size: most requests fit, and a body that trickles in holds no more.</summary>
    private const int InitialCapacity = 16 * 1024;

    private byte[] _array = [];
    private int _taken;

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    /// <summary>Appends <paramref name="bytes"/>, growing to at most <paramref name="capacityLimit"/>; false when the budget cannot cover the growth.</summary>
    public bool TryAppend(in ReadOnlySequence<byte> bytes, int capacityLimit)
    {
        var needed = Length + (int)bytes.Length;
        if (needed > _array.Length && !TryGrow(Math.Max(needed, Math.Min(capacityLimit, Math.Max(2 * _taken, InitialCapacity)))))
        {
            return false;
        }
        bytes.CopyTo(_array.AsSpan(Length));
        Length = needed;
        return true;
    }

    private bool TryGrow(int capacity)
    {
        // The budget counts what was asked for: the pool may hand out a larger array, by at most a power of two.
        if (!budget.TryTake(capacity - _taken))
        {
            return false;
        }
        var grown = ArrayPool<byte>.Shared.Rent(capacity);
        Memory.Span.CopyTo(grown);
        Return();
        _array = grown;
        _taken = capacity;
        return true;
    }

    public void Dispose()
    {
        Return();
        budget.Give(_taken);
        _array = [];
        _taken = 0;
        Length = 0;
    }

    private void Return()
    {
        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
        }
    }
}
