using System.Diagnostics;
using Ebpf.Assembly;
using Ebpf.DependencyInjection;
using Ebpf.Helpers;
using Ebpf.Verification;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ebpf.AotSmoke;

/// <summary>What a NativeAOT host needs from the libraries, checked in the published binary.</summary>
internal static class SmokeChecks
{
    // counts forever: mov r0, 0; add r0, 1; ja -2
    private const string EndlessLoop = "mov r0, 0\nadd r0, 1\nja -2\nexit";

    // sum of 1..100 in a loop: 5050
    private const string SumLoop = "mov r0, 0\nmov r1, 100\nadd r0, r1\nsub r1, 1\njne r1, 0, -3\nexit";

    public static int RunAll(TextWriter output)
    {
        var checks = new (string Name, Action Check)[]
        {
            ("configuration binds", ConfigurationBinds),
            ("configuration is validated", () => SettingIsRefused("Ebpf:StackSize", "7")),
            ("the interpreter runs", () => EngineRuns("interpreter")),
            ("the x64 engine runs", () => EngineRuns("x64")),
            ("rbpf-style helpers (a static method, a lambda, a closure) are called on the interpreter", () => HelpersAreCalled("interpreter")),
            ("rbpf-style helpers (a static method, a lambda, a closure) are called on the x64 engine", () => HelpersAreCalled("x64")),
            ("a timeout stops an endless loop on the interpreter", () => TimeoutStops("interpreter")),
            ("a timeout stops an endless loop on the x64 engine", () => TimeoutStops("x64")),
            ("a bad run time limit is refused", () => SettingIsRefused("Ebpf:RunTimeLimit", "-00:00:05")),
            ("the configured run time limit stops an endless loop on the interpreter", () => RunTimeLimitStops("interpreter")),
            ("the configured run time limit stops an endless loop on the x64 engine", () => RunTimeLimitStops("x64")),
        };
        int failed = 0;
        foreach (var (name, check) in checks)
        {
            try
            {
                check();
                output.WriteLine($"ok   {name}");
            }
            catch (Exception e)
            {
                failed++;
                output.WriteLine($"FAIL {name}: {e.GetType().Name}: {e.Message}");
            }
        }

        output.WriteLine(failed == 0 ? $"NativeAOT smoke test: all {checks.Length} checks passed" : $"NativeAOT smoke test: {failed} of {checks.Length} checks failed");
        return failed == 0 ? 0 : 1;
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddEbpf().AddInterpreter().AddX64();
        return services.BuildServiceProvider();
    }

    private static void ConfigurationBinds()
    {
        using var provider = Provider(new() { ["Ebpf:InstructionBudget"] = "1000", ["Ebpf:DefaultEngine"] = "safest", ["Ebpf:Timeout"] = "00:00:03" });
        var options = provider.GetRequiredService<ExecutionOptions>();
        Expect(options.InstructionBudget == 1000, $"InstructionBudget is {options.InstructionBudget}, expected 1000");
        Expect(options.Timeout == TimeSpan.FromSeconds(3), $"Timeout is {options.Timeout}, expected 3 s");
        Expect(options.RunTimeLimit == ExecutionOptions.DefaultRunTimeLimit, $"RunTimeLimit is {options.RunTimeLimit}, expected the default {ExecutionOptions.DefaultRunTimeLimit}");
        string engine = provider.GetRequiredService<IExecutionEngine>().Name;
        Expect(engine == "interpreter", $"the default engine is {engine}, expected the interpreter (safest)");
    }

    /// <summary>Checks that the host refuses <paramref name="key"/> = <paramref name="value"/> with a message naming the key.</summary>
    private static void SettingIsRefused(string key, string value)
    {
        using var provider = Provider(new() { [key] = value });
        try
        {
            _ = provider.GetRequiredService<IOptions<EbpfOptions>>().Value;
        }
        catch (OptionsValidationException e) when (e.Message.Contains(key, StringComparison.Ordinal))
        {
            return;
        }

        throw new InvalidOperationException($"{key} = {value} was accepted");
    }

    private static void RunTimeLimitStops(string name)
    {
        using var provider = Provider(new() { ["Ebpf:RunTimeLimit"] = "00:00:00.2" });
        var options = provider.GetRequiredService<ExecutionOptions>();
        Expect(options.RunTimeLimit == TimeSpan.FromMilliseconds(200), $"RunTimeLimit is {options.RunTimeLimit}, expected 200 ms");
        var engine = provider.GetRequiredKeyedService<IExecutionEngine>(name);
        using var compiled = engine.Compile(ProgramLoader.Load(Assembler.Assemble(EndlessLoop)), options: options);
        var watch = Stopwatch.StartNew();
        try
        {
            compiled.Run();
        }
        catch (EbpfRunCancelledException e) when (e.RunTimeLimitExceeded)
        {
            Expect(watch.Elapsed < TimeSpan.FromSeconds(10), $"the run stopped only after {watch.Elapsed}");
            return;
        }

        throw new InvalidOperationException("the endless loop returned");
    }

    private static void EngineRuns(string name)
    {
        using var provider = Provider([]);
        var engine = provider.GetRequiredKeyedService<IExecutionEngine>(name);
        using var compiled = engine.Compile(ProgramLoader.Load(Assembler.Assemble(SumLoop)));
        ulong r0 = compiled.Run();
        Expect(r0 == 5050, $"r0 = {r0}, expected 5050");
    }

    private static ulong Triple(ulong a, ulong b, ulong c, ulong d, ulong e) => a * 3;

    /// <summary>
    /// Helpers of the three kinds x64 calls in three ways (a static method at its entry point, a lambda and a closure at
    /// their instance entry points), ten calls each: under NativeAOT the entry points come from reflection data that
    /// trimming may remove, in which case the engine calls the delegates instead; either way the results must be right.
    /// </summary>
    private static void HelpersAreCalled(string name)
    {
        ulong captured = 1000;
        var helpers = new HelperTable
        {
            new Helper(1, "triple", Triple),
            new Helper(2, "plus_seven", static (a, _, _, _, _) => a + 7),
            new Helper(3, "plus_captured", (a, _, _, _, _) => a + captured),
        };
        using var provider = Provider([]);
        var engine = provider.GetRequiredKeyedService<IExecutionEngine>(name);
        using var compiled = engine.Compile(ProgramLoader.Load(Assembler.Assemble(HelperLoop)), new ProgramEnvironment(helpers));
        ulong r0 = compiled.Run();
        Expect(r0 == 10_345, $"r0 = {r0}, expected 10345");
    }

    /// <summary>For i = 1..10: r6 += triple(i) + plus_seven(i) + plus_captured(i), i.e. 5i + 1007; 10,345 in all.</summary>
    private const string HelperLoop = """
        mov r6, 0
        mov r7, 1
        loop:
        mov r1, r7
        call 1
        add r6, r0
        mov r1, r7
        call 2
        add r6, r0
        mov r1, r7
        call 3
        add r6, r0
        add r7, 1
        jle r7, 10, loop
        mov r0, r6
        exit
        """;

    private static void TimeoutStops(string name)
    {
        using var provider = Provider([]);
        var engine = provider.GetRequiredKeyedService<IExecutionEngine>(name);
        using var compiled = engine.Compile(ProgramLoader.Load(Assembler.Assemble(EndlessLoop)), options: new ExecutionOptions { Timeout = TimeSpan.FromMilliseconds(50) });
        var watch = Stopwatch.StartNew();
        try
        {
            compiled.Run();
        }
        catch (EbpfRunCancelledException e) when (e.Kind == RuntimeErrorKind.TimedOut)
        {
            Expect(watch.Elapsed < TimeSpan.FromSeconds(5), $"the run stopped only after {watch.Elapsed}");
            return;
        }

        throw new InvalidOperationException("the endless loop returned");
    }

    private static void Expect(bool condition, string failure)
    {
        if (!condition)
        {
            throw new InvalidOperationException(failure);
        }
    }
}
