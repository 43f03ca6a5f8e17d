using System.Globalization;

namespace Arena.Harness;

/// <summary>What Linux's <c>/proc</c> says of processes the harness did not start itself (a server's forks).</summary>
public static class ProcFs
{
    /// <summary>The processes whose parent is <paramref name="pid"/>; none where there is no <c>/proc</c>.</summary>
    public static List<int> ChildrenOf(int pid)
    {
        var children = new List<int>();
        if (!Directory.Exists("/proc"))
        {
            return children;
        }
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(proc), CultureInfo.InvariantCulture, out var id)
                && Stat(id) is { } fields && int.Parse(fields[1], CultureInfo.InvariantCulture) == pid)
            {
                children.Add(id);
            }
        }
        return children;
    }

    /// <summary>The state letter of process <paramref name="pid"/> (<c>R</c>, <c>S</c>, <c>Z</c> for a zombie, ...), or null once it is gone.</summary>
    public static char? State(int pid) => Stat(pid)?[0][0];

    /// <summary>The fields of <c>/proc/pid/stat</c> after the name in parentheses (state, parent, ...), or null once it is gone.</summary>
    private static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"));
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }
}
