using Ebpf.Elf;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Elf;

/// <summary>The committed examples (C sources compiled by clang into .o files) and their sample packets.</summary>
public static class ExampleFiles
{
    public static string Directory => Path.Combine(ConformanceSuite.RepositoryRoot, "examples");

    public static string ObjectPath(string name) => Path.Combine(Directory, name + ".o");

    public static ElfObject Load(string name) => ElfLoader.Load(ObjectPath(name));

    public static byte[] Bytes(string name) => File.ReadAllBytes(ObjectPath(name));

    public static byte[] Packet(string name) => File.ReadAllBytes(Path.Combine(Directory, "packets", name + ".bin"));

    public static string[] ObjectNames { get; } = ["block_port", "count_protocols", "global_data", "tail_calls", "kernel_maps"];
}
