using System.Globalization;
using Arena.Cli;
using Arena.Load;
using Arena.Simulator;

// arena-load: drives ingest at a fixed rate or flat out and measures acceptance, request
// latency, and optionally ingest -> SSE delivery and ingest -> commit lag.
return await ToolCommand.InvokeAsync(CommandLine.Command(LoadAsync), args, Console.Out, Console.Error);

static async Task<int> LoadAsync(LoadOptions options, bool json)
{
    using var stop = new StopSignals();

    // Progress only on a terminal: never into redirected output.
    var run = new LoadRun(options with { Progress = Console.IsErrorRedirected ? null : Report.Progress });
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
        return ToolCommand.Failed;
    }
    if (json)
    {
        Console.WriteLine(LoadRun.ToJson(result));
    }
    else
    {
        Console.Write(Report.Summary(result));
    }
    return ToolCommand.Ok;
}
