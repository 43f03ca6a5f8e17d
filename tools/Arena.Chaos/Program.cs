using Arena.Chaos;
using Arena.Cli;

// arena-chaos: the pipeline as real processes under seeded faults, then the verdict table.
return await ToolCommand.InvokeAsync(ChaosOptions.Command(async options =>
{
    Console.WriteLine($"arena-chaos: seed {options.Seed}; replay with: make chaos CHAOS_ARGS=\"{options.ReplayArguments()}\"");
    var result = await new ChaosRun(options).RunAsync(CancellationToken.None);
    ChaosReport.Write(result, options.Out);
    Console.Write(ChaosReport.Markdown(result));
    return result.Passed ? ToolCommand.Ok : ToolCommand.Failed;
}), args, Console.Out, Console.Error);
