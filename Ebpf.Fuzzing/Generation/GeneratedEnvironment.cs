using Ebpf.Helpers;
using Ebpf.Maps;

namespace Ebpf.Fuzzing.Generation;

/// <summary>The environment generated programs run in (<see cref="ProgramGenerator"/> calls helpers 1 to 5).</summary>
public static class GeneratedEnvironment
{
    /// <summary>
    /// The helper that looks key r2 up in the environment's array map (4 entries of 16 bytes, filled with fixed
    /// bytes and never written): the value's address, or 0 for a key past the end. The four values are one memory
    /// region, so only a read past the last one faults.
    /// </summary>
    public const int LookupHelper = 5;

    /// <summary>
    /// The helpers generated programs call: a pure one, two that use the context (memory, stop), one that fails. None
    /// looks at r1's value itself (a host address, different in every run), only at the memory it points to.
    /// </summary>
    public static ProgramEnvironment Create()
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "mix", (_, b, c, d, e) => (b * 0x9E3779B97F4A7C15UL) ^ (c + (3 * d)) ^ (e << 7));
        environment.Helpers.Add(2, "sum", (ContextHelperFunction)((context, a, b, _, _, _) =>
        {
            ulong sum = 0;
            foreach (byte x in context.GetMemory(a, b & 15, MemoryAccessKind.Read))
            {
                sum += x;
            }
    
            return sum;
        }));
        environment.Helpers.Add(3, "stop", (ContextHelperFunction)((context, _, _, c, d, _) =>
        {
            if ((c & 3) == 0)
            {
                context.Stop(d);
            }
    
            return c + 1;
        }));
        var values = new ArrayMap("values", 16, 4);
        for (uint key = 0; key < 4; key++)
        {
            values.Update(key, new UInt128(0x0123456789abcdefUL * (key + 1), 0xfedcba9876543210UL ^ key));
        }

        environment.AddMap(values);
        environment.Helpers.Add(LookupHelper, "lookup", (_, key, _, _, _) =>
            key < 4 ? values.LookupValueAddress(BitConverter.GetBytes((uint)key)) : 0);
        environment.Helpers.Add(4, "fail", (_, b, _, _, _) => (b & 1) == 0 ? b >> 1 : throw new InvalidOperationException("odd argument"));
        return environment;
    }
}
