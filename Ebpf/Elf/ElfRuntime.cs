using System.Diagnostics.CodeAnalysis;
using Ebpf.Helpers;
using Ebpf.Maps;

namespace Ebpf.Elf;

/// <summary>
/// The live side of an <see cref="ElfObject"/>: its maps (created with their initial values), and a
/// <see cref="ProgramEnvironment"/> with the Linux helpers, the maps' value regions and the <c>lddw</c> resolver, so
/// that the object's programs run on any engine. <see cref="Compile"/> also fills the program arrays the object
/// initialises statically with programs compiled by the same engine. Thread-safe; dispose it after the programs.
/// </summary>
public sealed class ElfRuntime : IDisposable
{
    private readonly object gate = new();
    private readonly List<ICompiledProgram> ownedPrograms = [];
    private readonly Dictionary<(IExecutionEngine, ExecutionOptions, string, string), ICompiledProgram> tailTargets = [];
    private readonly BpfMap[] maps;
    private int disposed;

    internal ElfRuntime(ElfObject elf, ElfRuntimeOptions options)
    {
        Object = elf;
        Options = options;
        Environment = new ProgramEnvironment();
        LinuxHelpers.Register(Environment.Helpers, options.Helpers);
        foreach (var helper in options.ExtraHelpers)
        {
            Environment.Helpers.Set(helper);
        }

        if (options.PossibleCpus is < 0 or > MapDefinition.MaxCpus)
        {
            throw new ArgumentException($"{nameof(ElfRuntimeOptions.PossibleCpus)} must be 0 (the processor count) to {MapDefinition.MaxCpus}, not {options.PossibleCpus}", nameof(options));
        }

        var definitions = elf.Maps.Select(m => m.Definition with { PossibleCpus = options.PossibleCpus }).ToArray();
        if (definitions.FirstOrDefault(d => d.IsPerCpu) is { } perCpu && options.Helpers.ProcessorId >= (uint)perCpu.ValuesPerEntry)
        {
            throw new ArgumentException($"the run's CPU ({nameof(LinuxHelperOptions)}.{nameof(LinuxHelperOptions.ProcessorId)} = {options.Helpers.ProcessorId}) is not one of the {perCpu.ValuesPerEntry} possible CPUs of per-CPU map '{perCpu.Name}' ({nameof(ElfRuntimeOptions)}.{nameof(ElfRuntimeOptions.PossibleCpus)})", nameof(options));
        }

        ulong storage = 0;
        foreach (var definition in definitions)
        {
            storage += definition.StorageBytes;
        }

        if (storage > options.MaxMapMemory)
        {
            throw new EbpfElfException(
                elf.FileName ?? "object",
                $"its maps need {storage} bytes, more than the {options.MaxMapMemory} allowed ({nameof(ElfRuntimeOptions)}.{nameof(ElfRuntimeOptions.MaxMapMemory)})");
        }

        var registry = MapRegistry.For(Environment);
        maps = new BpfMap[elf.Maps.Count];
        try
        {
            for (int i = 0; i < maps.Length; i++)
            {
                var declared = elf.Maps[i];
                maps[i] = BpfMap.Create(definitions[i]);
                if (declared.IsGlobalData)
                {
                    ((ArrayMap)maps[i]).GetValueSpan(0).Clear();
                    declared.InitialValue.Span.CopyTo(((ArrayMap)maps[i]).GetValueSpan(0));
                }

                if (registry.Add(maps[i]) != i)
                {
                    throw new InvalidOperationException("map indices of the environment do not match the object's");
                }
            }

            for (int i = 0; i < maps.Length; i++)
            {
                foreach (var (key, inner) in elf.Maps[i].InitialInnerMaps)
                {
                    SetInitialInnerMap((MapOfMaps)maps[i], key, GetMap(inner), elf.Maps[i]);
                }
            }
        }
        catch
        {
            foreach (var map in maps)
            {
                map?.Dispose();
            }

            throw;
        }
    }

    /// <summary>The object.</summary>
    /// <remarks>The constructor throws <see cref="EbpfElfException"/> when the maps need more than <see cref="ElfRuntimeOptions.MaxMapMemory"/>.</remarks>
    [SuppressMessage("Naming", "CA1720", Justification = "It is the ELF object (ElfObject) the runtime was made from, not System.Object.")]
    public ElfObject Object { get; }

    /// <summary>The options.</summary>
    public ElfRuntimeOptions Options { get; }

    /// <summary>The environment to compile the object's programs with (helpers, map regions, <c>lddw</c> resolver).</summary>
    public ProgramEnvironment Environment { get; }

    /// <summary>The maps, in the order of <see cref="ElfObject.Maps"/> (global data sections included).</summary>
    public IReadOnlyList<BpfMap> Maps => maps;

    /// <summary>The map named <paramref name="name"/> (a map symbol, or a data section such as <c>.bss</c>).</summary>
    /// <exception cref="KeyNotFoundException">There is no such map.</exception>
    public BpfMap GetMap(string name) =>
        maps.FirstOrDefault(m => m.Name == name)
        ?? throw new KeyNotFoundException($"no map named '{name}' (maps: {string.Join(", ", maps.Select(m => m.Name))})");

    /// <summary>The map named <paramref name="name"/>, as its concrete type (e.g. <see cref="HashMap"/>).</summary>
    /// <exception cref="KeyNotFoundException">There is no such map.</exception>
    /// <exception cref="InvalidCastException">The map has another type.</exception>
    public TMap GetMap<TMap>(string name)
        where TMap : BpfMap => (TMap)GetMap(name);

    /// <summary>Links and verifies a program of the object (see <see cref="ElfObject.GetProgram"/>), with the runtime's verifier.</summary>
    public EbpfProgram GetProgram(string? name = null) => Object.GetProgram(name, Options.Verifier);

    /// <summary>
    /// Compiles the program <paramref name="name"/> (function or section; null for the default) with
    /// <paramref name="engine"/> and this runtime's environment, and fills every statically initialised program
    /// array of the object with its targets compiled by the same engine and options (kept by the runtime). The
    /// caller owns (and disposes) the returned program.
    /// </summary>
    /// <exception cref="EbpfException">The program cannot be linked, verified or compiled.</exception>
    public ICompiledProgram Compile(IExecutionEngine engine, string? name = null, ExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        options ??= ExecutionOptions.Default;
        var linked = GetProgram(name);
        RequireHelpers(engine, linked);
        var program = engine.Compile(linked, Environment, options);
        try
        {
            FillProgramArrays(engine, options, string.Empty, GetProgram);
        }
        catch
        {
            program.Dispose();
            throw;
        }

        return program;
    }

    /// <summary>Disposes the tail-call targets the runtime compiled and the maps (programs must not run any more).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        lock (gate)
        {
            foreach (var map in maps)
            {
                map.Dispose();
                if (map.ValueRegion.Length != 0)
                {
                    Environment.RemoveRegion(map.ValueRegion);
                }

                if (map.KeyRegion.Length != 0)
                {
                    Environment.RemoveRegion(map.KeyRegion);
                }
            }

            foreach (var program in ownedPrograms)
            {
                program.Dispose();
            }

            ownedPrograms.Clear();
            tailTargets.Clear();
        }
    }

    /// <summary>A helper call this runtime cannot serve is a load error that names the Linux helper.</summary>
    private void RequireHelpers(IExecutionEngine engine, EbpfProgram program)
    {
        for (int pc = 0; pc < program.Length; pc++)
        {
            var insn = program.Instructions[pc];
            if (insn.OpCode == Isa.OpCodes.Call && insn.Src == 0 && !Environment.Helpers.TryGet((uint)insn.Imm, out _))
            {
                uint id = (uint)insn.Imm;
                throw new EbpfCompilationException(
                    engine.Name,
                    pc,
                    insn,
                    $"the program calls helper {id} ({LinuxHelperNames.Of(id) ?? "not a Linux helper id"}), which this library does not implement (a host can provide it with {nameof(ElfRuntimeOptions)}.{nameof(ElfRuntimeOptions.ExtraHelpers)})");
            }
        }
    }

    private static void SetInitialInnerMap(MapOfMaps outer, uint key, BpfMap inner, ElfMap declared)
    {
        try
        {
            var keyBytes = new byte[outer.KeySize];
            BitConverter.TryWriteBytes(keyBytes, key);
            if (outer.Set(keyBytes, inner) != MapStatus.Success)
            {
                throw new EbpfElfException($"section {declared.Section}, map '{outer.Name}'", $"entry {key} of .values cannot be set");
            }
        }
        catch (ArgumentException e)
        {
            throw new EbpfElfException($"section {declared.Section}, map '{outer.Name}'", e.Message, e);
        }
    }

    /// <summary>
    /// Fills every statically initialised program array (BTF <c>.values</c>) with its targets, each prepared by
    /// <paramref name="prepare"/> from its function name and compiled once per engine, options and
    /// <paramref name="flavour"/> (a name for the preparation, e.g. a kernel program type whose context loads are
    /// rewritten); the runtime keeps the compiled targets and disposes them with itself.
    /// </summary>
    internal void FillProgramArrays(IExecutionEngine engine, ExecutionOptions options, string flavour, Func<string, EbpfProgram> prepare)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
            for (int i = 0; i < maps.Length; i++)
            {
                foreach (var (index, target) in Object.Maps[i].InitialPrograms)
                {
                    if (!tailTargets.TryGetValue((engine, options, flavour, target), out var compiled))
                    {
                        compiled = engine.Compile(prepare(target), Environment, options);
                        ownedPrograms.Add(compiled);
                        tailTargets[(engine, options, flavour, target)] = compiled;
                    }

                    ((ProgramArrayMap)maps[i]).Set(index, compiled);
                }
            }
        }
    }
}
