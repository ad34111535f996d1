using Ebpf.Conformance;

namespace Ebpf.Tests.Infrastructure;

/// <summary>Finds the public bpf_conformance suite beside the repository (../shared/bpf_conformance), read in place.</summary>
public static class ConformanceSuite
{
    private static readonly Lazy<string> Root = new(Locate);

    /// <summary>The suite's folder; fails with the places it looked when absent.</summary>
    public static string Directory => Root.Value;

    /// <summary>The <c>tests</c> folder.</summary>
    public static string TestsDirectory => Path.Combine(Directory, "tests");

    /// <summary>The <c>negative</c> folder.</summary>
    public static string NegativeDirectory => Path.Combine(Directory, "negative");

    /// <summary>The repository root (the folder holding Ebpf.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Ebpf.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException($"cannot find Ebpf.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>The names of the test files (without extension), sorted, for theories.</summary>
    public static TheoryData<string> TestNames()
    {
        var data = new TheoryData<string>();
        foreach (var file in System.IO.Directory.GetFiles(TestsDirectory, "*.data").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    /// <summary>Loads one test of the <c>tests</c> folder by name.</summary>
    public static ConformanceTest Load(string name) => ConformanceTest.Load(Path.Combine(TestsDirectory, name + ".data"));

    private static string Locate()
    {
        var candidates = new List<string>();
        var env = Environment.GetEnvironmentVariable("EBPF_CONFORMANCE_DIR");
        if (!string.IsNullOrEmpty(env))
        {
            candidates.Add(env);
        }

        candidates.Add(Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "bpf_conformance")));
        foreach (var candidate in candidates)
        {
            if (System.IO.Directory.Exists(Path.Combine(candidate, "tests")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            "the bpf_conformance suite was not found; looked in: " + string.Join(", ", candidates)
            + " (it must sit beside the repository as ../shared/bpf_conformance, or set EBPF_CONFORMANCE_DIR)");
    }
}
