using Ebpf;
using Ebpf.Fuzz;
using Ebpf.Fuzzing;
using SharpFuzz;

// Usage:
//   Ebpf.Fuzz TARGET                       under afl-fuzz: the SharpFuzz fork server over stdin inputs
//   Ebpf.Fuzz TARGET --replay PATH...      runs files (or every file of folders) once each; exit 1 on a finding
//   Ebpf.Fuzz seeds TARGET OUT CONFORMANCE EXAMPLES   writes the seed corpus of TARGET into OUT
// Instrumented code may only run inside Fuzzer.Run (it writes to AFL's shared map), so in fuzzing mode the engines and
// targets are created there, on the first input.
static FuzzTargets CreateTargets()
{
    IExecutionEngine[] candidates = [new Ebpf.Interpreter.InterpreterEngine(), new Ebpf.Il.IlEngine(), new Ebpf.X64.X64Engine()];
    return new FuzzTargets(candidates.Where(e => e.IsAvailable).ToArray());
}

string[] names = ["decode", "asm", "elf", "diff", "kernel", "pcap"];
if (args.Length == 5 && args[0] == "seeds")
{
    int count = SeedConverter.Write(args[1], args[2], args[3], args[4]);
    Console.WriteLine($"{args[1]}: {count} seeds");
    return count > 0 ? 0 : 1;
}

if (args.Length == 0 || !names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: Ebpf.Fuzz TARGET [--replay PATH...] | seeds TARGET OUT CONFORMANCE EXAMPLES (targets: {string.Join(", ", names)})");
    return 2;
}

if (args.Length > 1 && args[1] == "--replay")
{
    var target = CreateTargets().Get(args[0]);
    var files = args.Skip(2).SelectMany<string, string>(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order() : [p]).ToList();
    int findings = 0;
    foreach (var file in files)
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
        }
        catch (FuzzFindingException e)
        {
            findings++;
            Console.WriteLine($"FINDING {file}: {e.Message}\n{e.InnerException}");
        }
    }

    Console.WriteLine($"{target.Name}: {files.Count} inputs, {findings} findings");
    return findings == 0 ? 0 : 1;
}

FuzzTarget? fuzzed = null;
Fuzzer.Run(stream =>
{
    fuzzed ??= CreateTargets().Get(args[0]);
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    fuzzed.Run(buffer.ToArray());
});
return 0;
