namespace Ebpf.Helpers;

/// <summary>What a helper returns in r0, for the safety analysis.</summary>
public enum HelperReturnKind : byte
{
    /// <summary>A number.</summary>
    Scalar,
    /// <summary>A pointer to a value of the map passed as the first <see cref="HelperArgumentKind.MapPointer"/> argument, or null.</summary>
    MapValueOrNull,
}
