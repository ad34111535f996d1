using System.Diagnostics;

namespace Ebpf.Cli;

/// <summary>
/// A one-line progress display on the error stream, redrawn in place with <c>\r</c> at most every
/// <see cref="Interval"/> and erased before results are printed. It draws only when a person watches (standard output
/// and standard error are terminals) and the output is not machine-readable (<c>--json</c>); otherwise every call
/// does nothing, so redirected output is exactly what it would be without it. Thread-safe.
/// </summary>
internal sealed class ProgressLine : IDisposable
{
    /// <summary>The shortest time between two redraws.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private const int Width = 79;
    private readonly TextWriter? error;
    private readonly Stopwatch sinceDrawn = new();
    private readonly object gate = new();
    private bool drawn;

    /// <summary>Creates a display on <paramref name="context"/>'s error stream, drawing only when <paramref name="enabled"/> and the tool is interactive.</summary>
    public ProgressLine(ToolContext context, bool enabled = true)
    {
        error = context.Interactive && enabled ? context.Err : null;
    }

    /// <summary>Shows <paramref name="text"/> (cut to the line width); skipped when the last redraw is recent, unless <paramref name="force"/>.</summary>
    public void Show(string text, bool force = false)
    {
        if (error is null)
        {
            return;
        }

        lock (gate)
        {
            if (!force && drawn && sinceDrawn.Elapsed < Interval)
            {
                return;
            }

            string line = text.Length > Width ? text[..Width] : text;
            error.Write("\r" + line.PadRight(Width));
            error.Flush();
            drawn = true;
            sinceDrawn.Restart();
        }
    }

    /// <summary>
    /// A counter that shows <paramref name="text"/> of each reported count on the reporting thread (unlike
    /// <see cref="Progress{T}"/>, nothing arrives after the work is done), or null when the display does not draw.
    /// </summary>
    public IProgress<long>? Counter(Func<long, string> text) => error is null ? null : new Reporter(this, text);

    /// <summary>Erases the line, so that what follows starts on a clean line.</summary>
    public void Clear()
    {
        if (error is null)
        {
            return;
        }

        lock (gate)
        {
            if (drawn)
            {
                error.Write("\r" + new string(' ', Width) + "\r");
                error.Flush();
                drawn = false;
            }
        }
    }

    /// <summary>Erases the line.</summary>
    public void Dispose() => Clear();

    private sealed class Reporter(ProgressLine line, Func<long, string> text) : IProgress<long>
    {
        public void Report(long value) => line.Show(text(value));
    }
}
