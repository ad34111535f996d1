using Ebpf.Fuzzing;
using Ebpf.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ebpf.Tests.Fuzzing;

/// <summary>
/// The short CI version of the coverage-guided campaigns: every input of the committed, minimised corpus
/// (<c>fuzz/corpus/TARGET</c>, what AFL++ found covering distinct edges) replayed through its target on every engine
/// available here. Any finding fails; so does a corpus too small to mean anything.
/// </summary>
public class FuzzCorpusTests(ITestOutputHelper output)
{
    public static TheoryData<string> Targets() => ["decode", "asm", "elf", "diff", "kernel", "pcap"];

    [Theory]
    [MemberData(nameof(Targets))]
    public void The_committed_corpus_replays_without_a_finding(string name)
    {
        var target = new FuzzTargets(TestEngines.All).Get(name);
        string folder = Path.Combine(ConformanceSuite.RepositoryRoot, "fuzz", "corpus", name);
        var files = Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 10, $"{folder}: only {files.Count} inputs");
        var findings = new List<string>();
        foreach (var file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (FuzzFindingException e)
            {
                findings.Add($"{Path.GetFileName(file)}: {e.Message}");
            }
        }

        output.WriteLine($"{name}: {files.Count} inputs replayed on {string.Join(", ", TestEngines.All.Select(e => e.Name))}");
        Assert.True(findings.Count == 0, string.Join("\n", findings));
    }
}
