namespace Arena.Bench;

/// <summary>
/// A progress line redrawn in place on stderr, only when stderr is a terminal: output that is
/// redirected (a CI log, a file) gets the results alone.
/// </summary>
internal static class Progress
{
    private static readonly bool Shown = !Console.IsErrorRedirected;

    public static void Show(string line)
    {
        if (Shown)
        {
            Console.Error.Write("\r  " + line + "   ");
        }
    }

    public static void Clear()
    {
        if (Shown)
        {
            Console.Error.Write("\r" + new string(' ', 100) + "\r");
        }
    }
}
