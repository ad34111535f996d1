namespace Ebpf.Tests.X64;

/// <summary>Tests that count the process's code mappings run alone, so other tests' compilations do not disturb the count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "An xunit collection definition; the suffix says what it is.")]
public sealed class X64SerialCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "x64 code mappings";
}
