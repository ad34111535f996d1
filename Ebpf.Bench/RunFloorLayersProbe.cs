using System.Globalization;
using Ebpf.Execution;

namespace Ebpf.Bench;

/// <summary>
/// <c>--floor-layers</c>: where the per-run floor goes. For <c>return</c> and <c>two-loads</c> on every engine with
/// memory checks on, the fastest time per call of each cumulative layer of the run path (<see cref="RunPathLayers"/>),
/// measured like <c>--floor</c> (<see cref="RunFloorProbe.Measure{TRun}"/>), and the step from the layer before (for a
/// piece timed apart, from the first layer). Every layer is called through the same delegate and method call, so the
/// steps are what the pieces cost; the first layer is that call alone. Two passes, the first discarded (the runtime may still be tiering code during the first cases).
/// </summary>
internal static unsafe class RunFloorLayersProbe
{
    private static readonly string[] Shapes = ["return", "two-loads"];

    public static void Report(TextWriter output)
    {
        output.WriteLine("run path layers, ns per call: fastest of the batches (step from the layer before), memory checks on");
        var input = GC.AllocateArray<byte>(16, pinned: true);
        RunFloorBenchmarks.CreateInput().CopyTo(input, 0);
        fixed (byte* memory = input)
        {
            for (int pass = 0; pass < 2; pass++)
            {
                var sink = pass == 0 ? TextWriter.Null : output;
                foreach (var configuration in BenchEngines.Configurations.Where(c => c.Options.MemoryChecks && BenchSelection.IncludesEngine(c.Label)))
                {
                    foreach (var shape in Shapes)
                    {
                        using var compiled = RunFloorBenchmarks.Compile(configuration, shape);
                        if (compiled is not CompiledProgram program)
                        {
                            continue;
                        }

                        ulong expected = RunFloorBenchmarks.Programs[shape].Expected;
                        var layers = new RunPathLayers(program, memory, (ulong)input.Length);
                        double before = 0, call = 0;
                        foreach (var (name, layer, apart) in layers.Layers)
                        {
                            // Prepares the thread's state for this program (as its first run on the thread would).
                            if (compiled.Run(input) != expected)
                            {
                                throw new InvalidOperationException($"{configuration.Label} returned a wrong r0 on {shape}");
                            }

                            double ns = RunFloorProbe.Measure(new LayerRun(layers, layer));
                            double step = ns - (apart ? call : before);
                            sink.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{configuration.Label,-12} {shape,-10} {name,-24} {ns,7:0.0} ({step,5:+0.0;-0.0})"));
                            call = before == 0 ? ns : call;
                            before = apart ? before : ns;
                        }
                    }
                }
            }
        }
    }

    /// <summary>One call of a layer.</summary>
    private readonly struct LayerRun(RunPathLayers layers, Func<RunPathLayers, ulong> layer) : IFloorRun
    {
        public ulong Run() => layer(layers);
    }
}
