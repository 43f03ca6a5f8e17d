using System.Globalization;
using System.Text.RegularExpressions;

namespace Arena.Harness;

/// <summary>
/// A service as <c>services/services.tsv</c> declares it. Its folder is <c>services/&lt;name&gt;</c>
/// and its project <c>services/&lt;name&gt;/&lt;assembly&gt;.csproj</c>.
/// </summary>
/// <param name="Section">The settings section of its own options (<c>&lt;Section&gt;__&lt;Name&gt;</c>).</param>
/// <param name="Group">Its consumer group on the event streams; null for a service that consumes none.</param>
/// <param name="RedisUser">Its Redis ACL user in the compose stack (<c>deploy/compose/redis/acl.rules</c>).</param>
/// <param name="KeepsData">Whether it keeps files in <c>Arena__DataDir</c> (a volume at <c>/data</c> in its image).</param>
public sealed record DeclaredService(string Name, string Assembly, int Port, string Section, string? Group, string RedisUser, bool KeepsData)
{
    public string Dir => "services/" + Name;

    /// <summary>The project, relative to the repository root.</summary>
    public string Project => $"{Dir}/{Assembly}.csproj";

    public string Dll => Assembly + ".dll";

    /// <summary>The variable that holds its Redis user's password (start-redis.sh, compose.yaml, .env.example).</summary>
    public string RedisPasswordVariable => ServiceManifest.RedisPasswordVariable(RedisUser);
}

/// <summary>
/// <c>services/services.tsv</c>: every service of the pipeline, one a line, declared once. A header
/// line names the columns; fields are separated by one tab each and are never empty (<c>-</c> is
/// "none"), so the shell scripts read it with a plain <c>read -r name assembly port …</c>.
/// </summary>
public static partial class ServiceManifest
{
    public const string RelativePath = "services/services.tsv";

    /// <summary>The columns, in their order; the scripts read them by position.</summary>
    public static readonly IReadOnlyList<string> Columns = ["name", "assembly", "port", "section", "group", "redis_user", "keeps_data"];

    private static readonly Lazy<IReadOnlyList<DeclaredService>> Loaded =
        new(() => Parse(File.ReadAllText(Path.Combine(Repo.Root, RelativePath))));

    /// <summary>The services of the repository's manifest, in its order.</summary>
    public static IReadOnlyList<DeclaredService> All => Loaded.Value;

    public static DeclaredService Named(string name) =>
        All.SingleOrDefault(s => s.Name == name) ?? throw new ArgumentException($"{RelativePath} declares no service '{name}'", nameof(name));

    /// <summary><c>REDIS_PASSWORD_&lt;USER&gt;</c>: upper case, '-' as '_', as start-redis.sh reads it.</summary>
    public static string RedisPasswordVariable(string user) => "REDIS_PASSWORD_" + user.ToUpperInvariant().Replace('-', '_');

    /// <summary>Reads a manifest, refusing anything the scripts could misread.</summary>
    public static IReadOnlyList<DeclaredService> Parse(string text)
    {
        var lines = text.Split('\n');
        if (lines[^1].Length == 0)
        {
            lines = lines[..^1];
        }
        if (lines.Length == 0 || lines[0] != string.Join('\t', Columns))
        {
            throw new FormatException($"{RelativePath}: the first line must be the header '{string.Join("<tab>", Columns)}'");
        }
        var services = new List<DeclaredService>();
        for (var i = 1; i < lines.Length; i++)
        {
            var fields = lines[i].Split('\t');
            string Error(string what) => $"{RelativePath} line {i + 1}: {what}";
            if (fields.Length != Columns.Count || fields.Any(f => f.Length == 0 || f.Trim() != f || f.Contains(' ', StringComparison.Ordinal)))
            {
                throw new FormatException(Error($"expected {Columns.Count} non-empty fields without spaces, one tab between each"));
            }
            if (!Name().IsMatch(fields[0]) || !Name().IsMatch(fields[5]))
            {
                throw new FormatException(Error("a service name and a Redis user are lower case letters, digits and '-'"));
            }
            if (!int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new FormatException(Error($"port '{fields[2]}' is not a TCP port"));
            }
            if (fields[6] is not ("yes" or "no"))
            {
                throw new FormatException(Error($"keeps_data is yes or no, not '{fields[6]}'"));
            }
            services.Add(new DeclaredService(fields[0], fields[1], port, fields[3], fields[4] == "-" ? null : fields[4], fields[5], fields[6] == "yes"));
        }
        foreach (var (column, value) in new (string, Func<DeclaredService, object?>)[]
            { ("name", s => s.Name), ("port", s => s.Port), ("section", s => s.Section), ("group", s => s.Group), ("redis_user", s => s.RedisUser) })
        {
            var twice = services.Select(value).Where(v => v is not null).GroupBy(v => v).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null)
            {
                throw new FormatException($"{RelativePath}: {column} '{twice.Key}' is declared twice");
            }
        }
        return services;
    }

    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex Name();
}
