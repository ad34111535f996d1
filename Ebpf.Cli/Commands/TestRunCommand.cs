using System.CommandLine;
using System.Text.Json;
using Ebpf.Cli.Loading;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Kernel.Pcap;

namespace Ebpf.Cli.Commands;

/// <summary>
/// <c>ebpf test-run OBJECT PROGRAM --packet FILE</c>: runs a program written for the kernel (XDP, tc, socket filter)
/// on a packet as BPF_PROG_TEST_RUN does and prints the kernel oracle's line (<c>retval=... size_out=... data_out=...
/// duration_ns=...</c>), then with --maps the map entries; with --pcap, a line per frame of a capture.
/// </summary>
internal static class TestRunCommand
{
    public static Command Create(ToolContext context)
    {
        var objectFile = new Argument<string>("OBJECT") { Description = "The ELF object (clang -target bpf)" };
        var program = new Argument<string>("PROGRAM") { Description = "The program's function or section name" };
        var packet = new Option<string?>("--packet") { Description = "The packet: a file with one Ethernet frame", HelpName = "FILE" };
        var pcap = new Option<string?>("--pcap") { Description = "Run every frame of a pcap capture instead of --packet (one line per frame)", HelpName = "IN" };
        var output = new Option<string?>("--out") { Description = "With --pcap: write the output frames to this pcap file", HelpName = "OUT" };
        var setMap = new Option<string[]>("--set-map")
        {
            Description = "Set a map entry before the run (repeatable): NAME KEYHEX VALUEHEX, raw bytes as the kernel stores them",
            Arity = new ArgumentArity(3, 3),
            AllowMultipleArgumentsPerToken = true,
        };
        var mapFile = new Option<string?>("--map-file") { Description = "Set map entries from a file of 'NAME KEYHEX VALUEHEX' lines (# comments)", HelpName = "FILE" };
        var skbMark = new Option<uint>("--skb-mark") { Description = "tc and socket programs: pass a struct __sk_buff in with this mark (and print ctx_out, as the kernel oracle); not with --ctx-in", HelpName = "N" };
        var contextOut = new Option<bool>("--ctx-out")
        {
            Description = "Print the context the run gives back (ctx_out=HEX). tc and socket programs: passes a struct __sk_buff in; XDP programs: "
                + "without --ctx-in passes a zeroed struct xdp_md in, as the kernel does, whose data_end 0 puts the whole frame into page fragments",
        };
        var contextIn = new Option<string?>("--ctx-in")
        {
            Description = "The context to pass in, as a file of raw bytes or as hex; prints ctx_out. XDP programs: a struct xdp_md (data = metadata length taken from "
                + "the front of the packet, data_end = end of the linear part, ingress_ifindex, rx_queue_index); tc and socket programs: a struct __sk_buff "
                + "(only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size and hwtstamp may be non-zero, as in the kernel)",
            HelpName = "FILE|HEX",
        };
        var device = new Option<uint[]>("--device")
        {
            Description = "A network device index the run has besides 1 (lo), which a context in may name: a struct __sk_buff's ifindex, a struct xdp_md's ingress_ifindex "
                + "(repeatable); another index is refused, as the kernel refuses an index its namespace has no device for (ENODEV)",
            HelpName = "N",
        };
        var repeat = new Option<int>("--repeat", "-r")
        {
            Description = "Run the program N times on the packet (state carries over, as in the kernel); duration_ns is per run",
            HelpName = "N",
            DefaultValueFactory = _ => 1,
            CustomParser = PositiveNumber.Int32("--repeat", "runs"),
        };
        var cpu = new Option<int>("--cpu") { Description = "The CPU the run is on (what bpf_get_smp_processor_id answers). Default 0", HelpName = "N" };
        var type = new Option<string?>("--type") { Description = "The program type when the section does not say: xdp, tc, socket", HelpName = "TYPE" };
        var maps = new Option<bool>("--maps") { Description = "Print every map entry after the run (map NAME key=HEX value=HEX)" };
        var engine = new Option<string?>("--engine", "-e") { Description = "The engine: interpreter, il, x64, or auto, fastest, safest. Default: interpreter", HelpName = "NAME" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        engine.CompletionSources.Add(context.EngineChoices());
        var options = new EngineOptions();

        var command = new Command("test-run", "Run a kernel program (XDP, tc, socket filter) on a packet like BPF_PROG_TEST_RUN: verdict, output packet, maps");
        command.Arguments.Add(objectFile);
        command.Arguments.Add(program);
        foreach (var option in new Option[] { packet, pcap, output, setMap, mapFile, skbMark, contextOut, contextIn, device, repeat, cpu, type, maps, engine, json })
        {
            command.Options.Add(option);
        }

        options.AddTo(command);
        context.SetAction(command, parse =>
        {
            string? packetPath = parse.GetValue(packet), pcapPath = parse.GetValue(pcap), outPath = parse.GetValue(output);
            if ((packetPath is null) == (pcapPath is null))
            {
                throw new ToolException("give the packet with --packet FILE or a capture with --pcap FILE (one of them)", usage: true);
            }

            if (outPath is not null && pcapPath is null)
            {
                throw new ToolException("--out writes the output frames of --pcap; it needs --pcap", usage: true);
            }

            if (parse.GetValue(cpu) < 0)
            {
                throw new ToolException($"--cpu must be 0 or more (got {parse.GetValue(cpu)})", usage: true);
            }

            KernelProgramType? explicitType = null;
            if (parse.GetValue(type) is { } typeName)
            {
                try
                {
                    explicitType = KernelProgramTypes.Parse(typeName);
                }
                catch (ArgumentException e)
                {
                    throw new ToolException(e.Message.Split(" (Parameter", 2)[0], usage: true);
                }
            }

            var elf = ElfLoader.Load(ReadFile(parse.GetValue(objectFile)!, "object"), parse.GetValue(objectFile));
            using var runtime = CreateRuntime(elf, (uint)parse.GetValue(cpu));
            var chosen = context.SelectEngine(parse.GetValue(engine));
            // The time limit covers the whole test run (one timer, not one per repeated run, which would be measured).
            var executionOptions = options.Read(parse);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(context.Stopping);
            if (executionOptions.Timeout is { } timeout)
            {
                limit.CancelAfter(timeout);
                executionOptions = executionOptions with { Timeout = null };
            }

            using var kernelProgram = KernelProgram.Load(runtime, chosen, parse.GetValue(program), explicitType, executionOptions);
            bool xdp = kernelProgram.Type == KernelProgramType.Xdp;
            byte[]? contextBytes = null;
            if (parse.GetValue(contextIn) is { } contextText)
            {
                if (!xdp && parse.GetResult(skbMark) is { Implicit: false })
                {
                    throw new ToolException("--skb-mark and --ctx-in both give the struct __sk_buff in: put the mark into the context in (bytes 8-11, little-endian)", usage: true);
                }

                contextBytes = File.Exists(contextText) ? ReadFile(contextText, "context") : HexBytes.Parse(contextText, "--ctx-in (neither a file nor hex bytes)");
            }

            if (parse.GetValue(mapFile) is { } mapPath)
            {
                using var reader = new StringReader(System.Text.Encoding.UTF8.GetString(ReadFile(mapPath, "map file")));
                MapSnapshot.Apply(runtime, reader, mapPath);
            }

            var sets = parse.GetValue(setMap) ?? [];
            for (int i = 0; i + 2 < sets.Length; i += 3)
            {
                MapSnapshot.Set(runtime, sets[i], sets[i + 1], sets[i + 2]);
            }

            try
            {
                // As the kernel oracle: --ctx-in, --ctx-out or (tc and socket programs) --skb-mark (even 0) passes a context in,
                // and the context out is printed.
                var runOptions = new TestRunOptions
                {
                    Repeat = parse.GetValue(repeat),
                    SkbMark = parse.GetValue(skbMark),
                    SkbContext = !xdp && (parse.GetValue(contextOut) || parse.GetResult(skbMark) is { Implicit: false }),
                    SkbContextIn = xdp ? null : contextBytes,
                    XdpContextIn = xdp ? contextBytes : null,
                    XdpContextOut = xdp && parse.GetValue(contextOut),
                    Devices = [1, .. (parse.GetValue(device) ?? []).Where(d => d != 1)],
                };
                var results = new List<(int Frame, TestRunResult? Result, string? Error)>();
                if (packetPath is not null)
                {
                    results.Add((0, kernelProgram.TestRun(ReadFile(packetPath, "packet"), runOptions, limit.Token), null));
                }
                else
                {
                    RunCapture(kernelProgram, pcapPath!, outPath, runOptions, results, limit.Token);
                }

                Print(context, parse.GetValue(json), pcapPath is not null, chosen.Name, results, parse.GetValue(maps) ? MapSnapshot.Lines(runtime) : null);
                return 0;
            }
            catch (Exception e) when (e is EbpfRunCancelledException or OperationCanceledException && limit.IsCancellationRequested && !context.Stopping.IsCancellationRequested)
            {
                string seconds = parse.GetValue(options.Timeout).ToString(System.Globalization.CultureInfo.InvariantCulture);
                throw new ToolException($"the test run did not finish within {seconds} seconds (set a longer limit with --timeout SECONDS, or 0 for none)", e);
            }
        });
        return command;
    }

    /// <summary>Runs every frame of the capture; a frame the kernel would refuse gets an error line, the others a result.</summary>
    private static void RunCapture(KernelProgram program, string pcapPath, string? outPath, TestRunOptions options, List<(int, TestRunResult?, string?)> results, CancellationToken cancellationToken)
    {
        IReadOnlyList<PcapFrame> frames;
        using (var stream = OpenFile(pcapPath, "capture"))
        {
            frames = PcapReader.ReadAll(stream);
        }

        using var writer = outPath is null ? null : new PcapWriter(CreateFile(outPath));
        for (int i = 0; i < frames.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var result = program.TestRun(frames[i].Data, options, cancellationToken);
                results.Add((i + 1, result, null));
                writer?.Write(result.Output, frames[i].Timestamp);
            }
            catch (EbpfTestRunException e)
            {
                results.Add((i + 1, null, e.Message));
            }
        }
    }

    private static void Print(ToolContext context, bool json, bool capture, string engine, List<(int Frame, TestRunResult? Result, string? Error)> results, IReadOnlyList<string>? maps)
    {
        if (!json)
        {
            foreach (var (frame, result, error) in results)
            {
                string prefix = capture ? $"frame={frame} " : string.Empty;
                context.Out.WriteLine(result is null ? $"{prefix}error={error}" : prefix + result.ToLine());
            }

            foreach (var line in maps ?? [])
            {
                context.Out.WriteLine(line);
            }

            return;
        }

        context.Out.WriteLine(JsonText.Object(w =>
        {
            w.WriteString("engine", engine);
            w.WriteStartArray("results");
            foreach (var (frame, result, error) in results)
            {
                w.WriteStartObject();
                if (capture)
                {
                    w.WriteNumber("frame", frame);
                }

                WriteResult(w, result, error);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (maps is not null)
            {
                w.WriteStartArray("maps");
                foreach (var line in maps)
                {
                    w.WriteStringValue(line);
                }

                w.WriteEndArray();
            }
        }));
    }

    private static void WriteResult(Utf8JsonWriter w, TestRunResult? result, string? error)
    {
        if (result is null)
        {
            w.WriteString("error", error);
            return;
        }

        w.WriteNumber("retval", result.ReturnValue);
        w.WriteNumber("size_out", result.Output.Length);
        w.WriteString("data_out", Convert.ToHexStringLower(result.Output));
        w.WriteNumber("duration_ns", result.DurationNanoseconds);
        if (result.ContextOut is { } contextOut)
        {
            w.WriteString("ctx_out", Convert.ToHexStringLower(contextOut));
        }

        if (result.Redirect is { } redirect)
        {
            w.WriteStartObject("redirect");
            w.WriteNumber("target", redirect.Target);
            w.WriteNumber("flags", redirect.Flags);
            if (redirect.MapName is not null)
            {
                w.WriteString("map", redirect.MapName);
                w.WriteNumber("key", redirect.Key);
            }

            w.WriteEndObject();
        }
    }

    /// <summary>The object's runtime on CPU <paramref name="cpu"/>; a CPU the per-CPU maps do not have is a usage error.</summary>
    private static ElfRuntime CreateRuntime(ElfObject elf, uint cpu)
    {
        try
        {
            return elf.CreateRuntime(new ElfRuntimeOptions { Helpers = new LinuxHelperOptions { ProcessorId = cpu } });
        }
        catch (ArgumentException e) when (e.ParamName == "options")
        {
            throw new ToolException($"--cpu {cpu}: {e.Message.Split(" (Parameter", 2)[0]}", e, usage: true);
        }
    }

    private static byte[] ReadFile(string path, string what) => FileAccess(() => File.ReadAllBytes(path), $"cannot read the {what} '{path}'", usage: true);

    private static FileStream OpenFile(string path, string what) => FileAccess(() => File.OpenRead(path), $"cannot read the {what} '{path}'", usage: true);

    private static FileStream CreateFile(string path) => FileAccess(() => File.Create(path), $"cannot write '{path}'", usage: false);

    /// <summary>Runs a file operation; its I/O errors become one-line tool errors.</summary>
    private static T FileAccess<T>(Func<T> operation, string failure, bool usage)
    {
        try
        {
            return operation();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ToolException($"{failure}: {e.Message}", e, usage);
        }
    }
}
