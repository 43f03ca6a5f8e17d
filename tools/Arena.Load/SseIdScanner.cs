using System.Text;

namespace Arena.Load;

/// <summary>
/// Reads an SSE byte stream in chunks of any size and picks out the <c>id:</c> field of each
/// event — the Redis stream ID <c>&lt;ms&gt;-&lt;seq&gt;</c> — recording now − ms as the
/// ingest → delivery latency. Other lines (<c>data:</c>, <c>event:</c>, comments) are skipped
/// byte by byte, so events of any size cost no allocation. Lines end with LF (CRLF is
/// accepted; a lone CR is not treated as a line end).
/// </summary>
public sealed class SseIdScanner
{
    private const int MaxIdLength = 64;
    private static ReadOnlySpan<byte> IdField => "id:"u8;

    private readonly byte[] _id = new byte[MaxIdLength];
    private readonly byte[] _lastId = new byte[MaxIdLength];
    private int _lastIdLength;
    private int _idLength;
    private State _state = State.LineStart;
    private int _matched;

    private enum State
    {
        LineStart,
        FieldName,
        ValueStart,
        Value,
        Skip,
    }

    /// <summary>The last complete event ID seen, for <c>Last-Event-ID</c> on reconnect.</summary>
    public string? LastId => _lastIdLength == 0 ? null : Encoding.ASCII.GetString(_lastId, 0, _lastIdLength);

    /// <summary>
    /// Feeds the next bytes of the stream; returns the number of event IDs completed in them.
    /// Each one's latency, <paramref name="nowUnixMs"/> minus the ID's ms part, goes into
    /// <paramref name="latency"/> (negative differences count as 0).
    /// </summary>
    public int Feed(ReadOnlySpan<byte> data, double nowUnixMs, LatencyHistogram? latency)
    {
        var ids = 0;
        for (var i = 0; i < data.Length; i++)
        {
            if (_state == State.Skip)
            {
                // Most bytes are data lines: jump to the line's end (vectorised search).
                var end = data[i..].IndexOf((byte)'\n');
                if (end < 0)
                {
                    break;
                }
                i += end;
            }
            var b = data[i];
            if (b == (byte)'\n')
            {
                if (_state is State.Value or State.ValueStart)
                {
                    if (Complete(nowUnixMs, latency))
                    {
                        ids++;
                    }
                }
                _state = State.LineStart;
                continue;
            }
            switch (_state)
            {
                case State.LineStart:
                case State.FieldName:
                    if (_state == State.LineStart)
                    {
                        _matched = 0;
                    }
                    if (b == IdField[_matched])
                    {
                        _matched++;
                        _state = _matched == IdField.Length ? State.ValueStart : State.FieldName;
                    }
                    else
                    {
                        _state = State.Skip;
                    }
                    break;
                case State.ValueStart:
                    _idLength = 0;
                    _state = State.Value;
                    if (b != (byte)' ')
                    {
                        Append(b);
                    }
                    break;
                case State.Value:
                    Append(b);
                    break;
                case State.Skip:
                    break;
            }
        }
        return ids;
    }

    private void Append(byte b)
    {
        if (_idLength < MaxIdLength)
        {
            _id[_idLength] = b;
        }
        _idLength++;
    }

    private bool Complete(double nowUnixMs, LatencyHistogram? latency)
    {
        var length = _state == State.ValueStart ? 0 : _idLength;
        if (length > 0 && _id[length - 1] == (byte)'\r')
        {
            length--;
        }
        if (length is 0 or > MaxIdLength)
        {
            return false;
        }
        long ms = 0;
        var digits = 0;
        for (; digits < length && _id[digits] is >= (byte)'0' and <= (byte)'9'; digits++)
        {
            ms = ms * 10 + (_id[digits] - '0');
        }
        if (digits == 0 || digits > 18 || digits == length || _id[digits] != (byte)'-')
        {
            return false;
        }
        _id.AsSpan(0, length).CopyTo(_lastId);
        _lastIdLength = length;
        latency?.RecordMilliseconds(Math.Max(0, nowUnixMs - ms));
        return true;
    }
}
