namespace Ebpf.Fuzzing;

/// <summary>
/// One fuzz target: a function over arbitrary bytes that returns normally for every input the project handles as
/// documented (including inputs it rejects with an <see cref="EbpfException"/>) and throws a
/// <see cref="FuzzFindingException"/> for a defect.
/// </summary>
/// <param name="Name">The name the harness and the scripts use (<c>decode</c>, <c>asm</c>, <c>elf</c>, <c>diff</c>).</param>
/// <param name="Description">One line on what the target exercises.</param>
/// <param name="Body">The code run for one input.</param>
public sealed record FuzzTarget(string Name, string Description, Action<byte[]> Body)
{
    /// <summary>
    /// Runs one input. Exceptions of the project's hierarchy are the documented way to reject bad input and end the run
    /// normally; any other exception becomes a <see cref="FuzzFindingException"/>.
    /// </summary>
    /// <param name="input">The fuzzer's bytes.</param>
    /// <exception cref="FuzzFindingException">The input shows a defect.</exception>
    public void Run(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            Body(input);
        }
        catch (EbpfException)
        {
        }
        catch (FuzzFindingException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new FuzzFindingException($"{Name}: {e.GetType().FullName} escaped: {e.Message}", e);
        }
    }
}
