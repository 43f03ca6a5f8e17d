using System.Text;
using CsCheck;

namespace Arena.Contracts.Tests.Generated;

/// <summary>The random choices of one generated case, drawn from CsCheck's seeded generator.</summary>
internal sealed class Choices(PCG pcg)
{
    public int Int(int min, int max) => min + (int)pcg.Next((uint)(max - min + 1));

    /// <summary>Any non-negative 64-bit integer.</summary>
    public long Long() => (long)(pcg.Next64() >> 1);

    public bool OneIn(int n) => pcg.Next((uint)n) == 0;

    public T Pick<T>(params T[] items) => items[pcg.Next((uint)items.Length)];

    public string Text(string alphabet, int length)
    {
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(alphabet[(int)pcg.Next((uint)alphabet.Length)]);
        }
        return text.ToString();
    }

    /// <summary>
    /// Text of <paramref name="length"/> characters outside the Basic Multilingual Plane: two UTF-16
    /// code units each. They are drawn from U+1F400–U+1F4FF, where no character combines with its
    /// neighbour (no skin-tone modifiers, regional indicators or joiners): JsonSchema.Net counts
    /// maxLength in grapheme clusters where JSON Schema counts code points, and on such text the two agree.
    /// </summary>
    public string Astral(int length)
    {
        var text = new StringBuilder(length * 2);
        for (var i = 0; i < length; i++)
        {
            text.Append(char.ConvertFromUtf32(0x1F400 + (int)pcg.Next(0x100)));
        }
        return text.ToString();
    }
}
