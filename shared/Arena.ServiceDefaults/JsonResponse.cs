using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Arena.ServiceDefaults;

/// <summary>A JSON response written by hand with <see cref="Utf8JsonWriter"/> (raw envelopes embedded as they are stored).</summary>
public static class JsonResponse
{
    public static IResult Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }
        return Results.Bytes(buffer.WrittenMemory, "application/json");
    }
}
