using System.Globalization;
using Arena.Load;
using Arena.Simulator;

// arena-load: drives ingest at a fixed rate or flat out and measures acceptance, request
// latency, and optionally ingest -> SSE delivery and ingest -> commit lag.
if (!CommandLine.TryParse(args, out var options, out var json, out var help, out var error))
{
    Console.Error.WriteLine($"arena-load: {error}");
    Console.Error.WriteLine("Run arena-load --help for the options.");
    return 2;
}
if (help)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

using var stop = new StopSignals();

var run = new LoadRun(options with { Progress = Report.Progress });
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"arena-load: {(options.Rate is { } r ? $"{r:0.#} events/s" : "flat out")}, {(options.Events is { } n ? $"{n} events" : "")}{(options.Events is not null && options.Duration is not null ? " or " : "")}{(options.Duration is { } d ? $"{d.TotalSeconds:0.###} s" : "")}, batch {options.Batch}, {options.Runs} run(s) ({run.RunIds[0]}…), ~{options.EventBytes} B/event, {options.Connections} connection(s) to {options.IngestUrl}"));
LoadResult result;
try
{
    result = await run.RunAsync(stop.Token);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"arena-load: {e.Message}");
    return 1;
}
if (json)
{
    Console.WriteLine(LoadRun.ToJson(result));
}
else
{
    Console.Write(Report.Summary(result));
}
return 0;
