using System.Diagnostics;
using Arena.Cli;
using Arena.Simulator;

// arena-sim: plays simulated LLM matches against the ingest API.
return await ToolCommand.InvokeAsync(SimulatorOptions.Command(SimulateAsync), args, Console.Out, Console.Error);

static async Task<int> SimulateAsync(SimulatorOptions options)
{
    using var stop = new StopSignals();

    using var http = new HttpClient { BaseAddress = options.Ingest, Timeout = TimeSpan.FromSeconds(30) };
    var client = new IngestClient(http, options.ApiKey);
    var random = new Random(options.Seed);
    var gate = new object();
    var started = 0;
    long events = 0;
    var finished = 0;
    var clock = Stopwatch.StartNew();

    Console.WriteLine($"arena-sim: {options.Parallel} table(s), {(options.Games == 0 ? "endless" : options.Games.ToString(System.Globalization.CultureInfo.InvariantCulture))} game(s), a turn every {options.TurnDelay.TotalMilliseconds} ms, posting to {options.Ingest}");

    async Task TableAsync()
    {
        while (!stop.Token.IsCancellationRequested)
        {
            SimulatedMatch match;
            lock (gate)
            {
                if (options.Games > 0 && started >= options.Games)
                {
                    return;
                }
                match = new SimulatedMatch(new Random(random.Next()), SimulatedMatch.DefaultModels, ++started, DateTimeOffset.UtcNow);
            }
            foreach (var batch in match.Batches())
            {
                await client.PostAsync(batch, stop.Token);
                Interlocked.Add(ref events, batch.Count);
                await Task.Delay(options.TurnDelay, stop.Token);
            }
            Interlocked.Increment(ref finished);
        }
    }

    // Progress only on a terminal: never into redirected output.
    async Task ProgressAsync()
    {
        while (!stop.Token.IsCancellationRequested && !Console.IsErrorRedirected)
        {
            await Task.Delay(TimeSpan.FromSeconds(5), stop.Token);
            Console.Error.WriteLine($"arena-sim: {Volatile.Read(ref finished)} game(s) finished, {Interlocked.Read(ref events)} events posted ({Interlocked.Read(ref events) / clock.Elapsed.TotalSeconds:F0}/s)");
        }
    }

    var progress = ProgressAsync();
    try
    {
        await Task.WhenAll(Enumerable.Range(0, options.Parallel).Select(_ => TableAsync()));
    }
    catch (OperationCanceledException)
    {
    }
    catch (InvalidOperationException e)
    {
        Console.Error.WriteLine($"arena-sim: {e.Message}");
        return 1;
    }
    stop.Stop();
    Console.WriteLine($"arena-sim: done, {finished} game(s), {events} events in {clock.Elapsed.TotalSeconds:F1}s");
    return 0;
}
