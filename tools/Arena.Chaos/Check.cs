namespace Arena.Chaos;

/// <summary>One row of the verdict table.</summary>
public sealed record Check(string Name, string Expected, string Found, bool Passed)
{
    public string Verdict => Passed ? "PASS" : "FAIL";
}
