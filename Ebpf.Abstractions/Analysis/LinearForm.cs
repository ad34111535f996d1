namespace Ebpf.Analysis;

/// <summary>
/// A 64-bit value as a linear function of the registers at a loop's head: <c>sum(c_r * r) + constant</c>, with every
/// operation wrapping modulo 2^64 exactly as the eBPF arithmetic does (so the form is exact, never an approximation).
/// Immutable; used by <see cref="LoopGuardAnalyzer"/> to express addresses and induction steps.
/// </summary>
internal sealed class LinearForm : IEquatable<LinearForm>
{
    private const int RegisterCount = 11;

    private readonly long[] coefficients;

    private LinearForm(long[] coefficients, long constant)
    {
        this.coefficients = coefficients;
        Constant = constant;
    }

    /// <summary>The constant term.</summary>
    public long Constant { get; }

    /// <summary>True when no register takes part (the value is <see cref="Constant"/>).</summary>
    public bool IsConstant => Array.TrueForAll(coefficients, c => c == 0);

    /// <summary>The value register <paramref name="register"/> held at the head.</summary>
    public static LinearForm Register(int register)
    {
        var c = new long[RegisterCount];
        c[register] = 1;
        return new LinearForm(c, 0);
    }

    /// <summary>A constant.</summary>
    public static LinearForm Of(long constant) => new(new long[RegisterCount], constant);

    /// <summary>The coefficient of <paramref name="register"/>.</summary>
    public long Coefficient(int register) => coefficients[register];

    /// <summary>This plus <paramref name="other"/>.</summary>
    public LinearForm Add(LinearForm other) => Combine(other, 1);

    /// <summary>This minus <paramref name="other"/>.</summary>
    public LinearForm Subtract(LinearForm other) => Combine(other, -1);

    /// <summary>This plus a constant.</summary>
    public LinearForm Plus(long constant) => new(coefficients, unchecked(Constant + constant));

    /// <summary>This times a constant.</summary>
    public LinearForm Times(long factor)
    {
        var c = new long[RegisterCount];
        for (int r = 0; r < RegisterCount; r++)
        {
            c[r] = unchecked(coefficients[r] * factor);
        }

        return new LinearForm(c, unchecked(Constant * factor));
    }

    /// <summary>True when the form is one register plus a constant (<paramref name="register"/> + <paramref name="constant"/>).</summary>
    public bool IsRegisterPlus(out int register, out long constant)
    {
        register = -1;
        constant = Constant;
        for (int r = 0; r < RegisterCount; r++)
        {
            if (coefficients[r] == 0)
            {
                continue;
            }

            if (coefficients[r] != 1 || register >= 0)
            {
                register = -1;
                return false;
            }

            register = r;
        }

        return register >= 0;
    }

    /// <inheritdoc />
    public bool Equals(LinearForm? other) =>
        other is not null && Constant == other.Constant && coefficients.AsSpan().SequenceEqual(other.coefficients);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as LinearForm);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Constant);
        foreach (long c in coefficients)
        {
            hash.Add(c);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var terms = new List<string>();
        for (int r = 0; r < RegisterCount; r++)
        {
            if (coefficients[r] != 0)
            {
                terms.Add(coefficients[r] == 1 ? $"r{r}" : $"{coefficients[r]}*r{r}");
            }
        }

        terms.Add(Constant.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return string.Join(" + ", terms);
    }

    private LinearForm Combine(LinearForm other, long sign)
    {
        var c = new long[RegisterCount];
        for (int r = 0; r < RegisterCount; r++)
        {
            c[r] = unchecked(coefficients[r] + (sign * other.coefficients[r]));
        }

        return new LinearForm(c, unchecked(Constant + (sign * other.Constant)));
    }
}
