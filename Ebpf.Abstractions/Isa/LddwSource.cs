namespace Ebpf.Isa;

/// <summary>The <c>src</c> field of an <c>lddw</c> instruction: a plain 64-bit immediate or a pseudo source (RFC 9669, section 4.4).</summary>
public enum LddwSource : byte
{
    /// <summary><c>dst = imm64</c>.</summary>
    Immediate = 0,
    /// <summary><c>dst = map_by_fd(imm)</c>.</summary>
    MapByFd = 1,
    /// <summary><c>dst = map_val(map_by_fd(imm)) + next_imm</c>.</summary>
    MapValueByFd = 2,
    /// <summary><c>dst = var_addr(imm)</c>.</summary>
    VariableAddress = 3,
    /// <summary><c>dst = code_addr(imm)</c>.</summary>
    CodeAddress = 4,
    /// <summary><c>dst = map_by_idx(imm)</c>.</summary>
    MapByIndex = 5,
    /// <summary><c>dst = map_val(map_by_idx(imm)) + next_imm</c>.</summary>
    MapValueByIndex = 6,
}
