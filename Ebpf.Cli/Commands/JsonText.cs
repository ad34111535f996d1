using System.Text;
using System.Text.Json;

namespace Ebpf.Cli.Commands;

/// <summary>JSON output of the commands, written with <see cref="Utf8JsonWriter"/> (no reflection, indented).</summary>
internal static class JsonText
{
    /// <summary>One JSON object whose members <paramref name="members"/> writes.</summary>
    public static string Object(Action<Utf8JsonWriter> members)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
