using Arena.Cli;

// arena: the operator's view of the event log. Exit codes: 0 done, 1 failed, 2 usage.
return await ArenaCli.RunAsync(args, Console.Out, Console.Error);
