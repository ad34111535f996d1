namespace Ebpf.Diagnostics;

/// <summary>The C source line an instruction came from (from the object's <c>.BTF.ext</c> line information, clang <c>-g</c>).</summary>
/// <param name="File">The source file as the compiler named it.</param>
/// <param name="Line">The line number, from 1.</param>
/// <param name="Column">The column, from 1 (0 when unknown).</param>
/// <param name="Text">The text of the line as the compiler recorded it (may be empty).</param>
public sealed record SourceLine(string File, int Line, int Column, string Text)
{
    /// <summary><c>file.c:12</c>.</summary>
    public string Location => $"{Path.GetFileName(File)}:{Line}";

    /// <inheritdoc />
    public override string ToString() => Text.Length == 0 ? Location : $"{Location}  {Text.Trim()}";
}
