namespace Ebpf.Maps;

/// <summary>Adds maps to a <see cref="ProgramEnvironment"/>.</summary>
public static class ProgramEnvironmentMapExtensions
{
    /// <summary>
    /// Registers <paramref name="map"/> in the environment's <see cref="MapRegistry"/> (its values become a region
    /// programs may touch) and returns its index: the <c>imm</c> of an <c>lddw</c> with pseudo source 1 or 5 that
    /// loads it.
    /// </summary>
    public static int AddMap(this ProgramEnvironment environment, BpfMap map) => MapRegistry.For(environment).Add(map);
}
