using System.Globalization;
using System.Text;
using Ebpf.Isa;

namespace Ebpf.Diagnostics;

/// <summary>One executed instruction of a trace (see <see cref="ExecutionTracer"/>).</summary>
/// <param name="Index">The position in the run: 0 for the first instruction executed.</param>
/// <param name="ProgramName">The name of the program executing (tail calls change it), or null.</param>
/// <param name="Pc">The slot index of the instruction.</param>
/// <param name="CallDepth">The local-call depth: 0 in the entry function.</param>
/// <param name="Instruction">The instruction (the first slot of an <c>lddw</c>).</param>
/// <param name="Text">The canonical assembly text of the instruction (both slots of an <c>lddw</c>).</param>
/// <param name="Changes">The registers the instruction changed, in register order.</param>
/// <param name="Store">For a store or atomic that completed: what it wrote; otherwise null.</param>
public sealed record TraceEntry(
    long Index, string? ProgramName, int Pc, int CallDepth, Instruction Instruction, string Text,
    IReadOnlyList<RegisterChange> Changes, MemoryWrite? Store)
{
    /// <summary>One line: pc, text, then the changed registers and the store, e.g. <c>    3: add64 r0, 0x1    r0 = 0x2</c>.</summary>
    public override string ToString()
    {
        var line = new StringBuilder();
        line.Append(Pc.ToString(CultureInfo.InvariantCulture).PadLeft(6)).Append(": ");
        line.Append(new string(' ', 2 * Math.Min(CallDepth, 8))).Append(Text);
        var effects = Changes.Select(c => c.ToString()).ToList();
        if (Store is { } store)
        {
            effects.Add(store.ToString());
        }

        if (effects.Count > 0)
        {
            line.Append(' ', Math.Max(1, 36 - line.Length)).Append(string.Join(", ", effects));
        }

        return line.ToString();
    }

    /// <summary>The entry as one line of JSON: <c>{"index":0,"pc":3,"depth":0,"insn":"...","regs":{"r0":"0x2"},"store":{...}}</c>.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(stream, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("index", Index);
            if (ProgramName is not null)
            {
                w.WriteString("program", ProgramName);
            }

            w.WriteNumber("pc", Pc);
            w.WriteNumber("depth", CallDepth);
            w.WriteString("insn", Text);
            w.WriteStartObject("regs");
            foreach (var change in Changes)
            {
                w.WriteString("r" + change.Register.ToString(CultureInfo.InvariantCulture), "0x" + change.Value.ToString("x", CultureInfo.InvariantCulture));
            }

            w.WriteEndObject();
            if (Store is { } store)
            {
                w.WriteStartObject("store");
                w.WriteString("address", "0x" + store.Address.ToString("x", CultureInfo.InvariantCulture));
                w.WriteNumber("size", store.Size);
                w.WriteString("value", "0x" + store.Value.ToString("x", CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
