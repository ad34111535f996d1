using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>How helpers find an environment's map registry (through its lddw resolver first, then its properties).</summary>
public class MapRegistryTests
{
    [Fact]
    public void The_registry_is_found_whoever_installed_the_lddw_resolver()
    {
        var plain = new ProgramEnvironment();
        var registry = MapRegistry.For(plain);
        Assert.Same(registry, MapRegistry.Find(plain));

        // A host resolver set first stays; the registry is then found through the properties.
        var hosted = new ProgramEnvironment { LddwResolver = (_, _, _) => 0 };
        var own = MapRegistry.For(hosted);
        Assert.Same(own, MapRegistry.Find(hosted));

        // Another environment's resolver copied over does not make its registry this environment's.
        var copied = new ProgramEnvironment { LddwResolver = plain.LddwResolver };
        Assert.Null(MapRegistry.Find(copied));
        Assert.NotSame(registry, MapRegistry.For(copied));
        Assert.Same(MapRegistry.For(copied), MapRegistry.Find(copied));
    }
}
