using Arena.Chaos;

// arena-chaos: the pipeline as real processes under seeded faults, then the verdict table.
if (args.Contains("--help"))
{
    Console.WriteLine(ChaosOptions.Usage);
    return 0;
}
if (!ChaosOptions.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"arena-chaos: {error}");
    Console.Error.WriteLine(ChaosOptions.Usage);
    return 2;
}
Console.WriteLine($"arena-chaos: seed {options.Seed}; replay with: make chaos CHAOS_ARGS=\"{options.ReplayArguments()}\"");
var result = await new ChaosRun(options).RunAsync(CancellationToken.None);
ChaosReport.Write(result, options.Out);
Console.Write(ChaosReport.Markdown(result));
return result.Passed ? 0 : 1;
