namespace Ebpf.Analysis;

/// <summary>
/// The control-flow graph of one function (blocks of <see cref="AnalysisResults.Blocks"/>, numbered from the function's
/// first block), its dominators and its natural loops.
/// </summary>
internal sealed class FunctionGraph
{
    private readonly List<int>[] successors;
    private readonly List<int>[] predecessors;

    /// <summary>Builds the graph of <paramref name="function"/>.</summary>
    public FunctionGraph(EbpfProgram program, FunctionInfo function)
    {
        var analysis = program.Analysis;
        First = analysis.BlockIndexOf(function.Start);
        Count = analysis.BlockIndexOf(function.End - 1) - First + 1;
        successors = new List<int>[Count];
        predecessors = new List<int>[Count];
        for (int b = 0; b < Count; b++)
        {
            successors[b] = [];
            predecessors[b] = [];
        }

        for (int b = 0; b < Count; b++)
        {
            foreach (int pc in analysis.Blocks[First + b].Successors)
            {
                int s = analysis.BlockIndexOf(pc) - First;
                successors[b].Add(s);
                predecessors[s].Add(b);
            }
        }
    }

    /// <summary>The index in <see cref="AnalysisResults.Blocks"/> of the function's first block (block 0 here).</summary>
    public int First { get; }

    /// <summary>The number of blocks.</summary>
    public int Count { get; }

    /// <summary>The successors of every block.</summary>
    public IReadOnlyList<List<int>> Successors => successors;

    /// <summary>The predecessors of every block.</summary>
    public IReadOnlyList<List<int>> Predecessors => predecessors;

    /// <summary>
    /// The natural loops (a head that dominates every reachable block with an edge back to it; the body is the head and
    /// every reachable block that reaches such an edge without passing the head) whose body holds no cycle other than
    /// through the head, by head ascending, each with its body in an order where every block follows its predecessors
    /// in the body (edges into the head left out).
    /// </summary>
    public IEnumerable<NaturalLoop> InnermostLoops()
    {
        var order = ReversePostorder();
        var dominator = Dominators(order);
        var latches = new SortedDictionary<int, List<int>>();
        foreach (int u in order)
        {
            foreach (int h in successors[u])
            {
                if (Dominates(dominator, h, u))
                {
                    if (!latches.TryGetValue(h, out var list))
                    {
                        latches[h] = list = [];
                    }

                    list.Add(u);
                }
            }
        }

        foreach (var (head, list) in latches)
        {
            var body = LoopBody(head, list, dominator);
            if (Topological(head, body) is { } topological)
            {
                yield return new NaturalLoop(head, list, body, topological);
            }
        }
    }

    /// <summary>The blocks reachable from the function's entry (block 0), in reverse postorder.</summary>
    private List<int> ReversePostorder()
    {
        var visited = new bool[successors.Length];
        var post = new List<int>();
        var stack = new Stack<(int Block, int Next)>();
        visited[0] = true;
        stack.Push((0, 0));
        while (stack.Count > 0)
        {
            var (block, next) = stack.Pop();
            if (next < successors[block].Count)
            {
                stack.Push((block, next + 1));
                int s = successors[block][next];
                if (!visited[s])
                {
                    visited[s] = true;
                    stack.Push((s, 0));
                }
            }
            else
            {
                post.Add(block);
            }
        }

        post.Reverse();
        return post;
    }

    /// <summary>Immediate dominators (Cooper, Harvey and Kennedy's iteration); -1 for blocks not reachable.</summary>
    private int[] Dominators(List<int> order)
    {
        var index = new int[Count];
        Array.Fill(index, -1);
        for (int i = 0; i < order.Count; i++)
        {
            index[order[i]] = i;
        }

        var dominator = new int[Count];
        Array.Fill(dominator, -1);
        dominator[order[0]] = order[0];
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int i = 1; i < order.Count; i++)
            {
                int b = order[i];
                int candidate = -1;
                foreach (int p in predecessors[b])
                {
                    if (dominator[p] < 0)
                    {
                        continue;
                    }

                    candidate = candidate < 0 ? p : Intersect(dominator, index, p, candidate);
                }

                if (candidate >= 0 && dominator[b] != candidate)
                {
                    dominator[b] = candidate;
                    changed = true;
                }
            }
        }

        return dominator;
    }

    private static int Intersect(int[] dominator, int[] index, int a, int b)
    {
        while (a != b)
        {
            while (index[a] > index[b])
            {
                a = dominator[a];
            }

            while (index[b] > index[a])
            {
                b = dominator[b];
            }
        }

        return a;
    }

    /// <summary>True when <paramref name="h"/> dominates the reachable block <paramref name="u"/>.</summary>
    private static bool Dominates(int[] dominator, int h, int u)
    {
        while (true)
        {
            if (u == h)
            {
                return true;
            }

            int up = dominator[u];
            if (up == u || up < 0)
            {
                return false;
            }

            u = up;
        }
    }

    /// <summary>The natural loop of <paramref name="head"/>: the head and every reachable block that reaches a latch without passing the head.</summary>
    private HashSet<int> LoopBody(int head, List<int> latches, int[] dominator)
    {
        var body = new HashSet<int> { head };
        var work = new Stack<int>();
        foreach (int u in latches)
        {
            if (body.Add(u))
            {
                work.Push(u);
            }
        }

        while (work.Count > 0)
        {
            int x = work.Pop();
            foreach (int p in predecessors[x])
            {
                if (dominator[p] >= 0 && body.Add(p))
                {
                    work.Push(p);
                }
            }
        }

        return body;
    }

    /// <summary>The body in an order where every block comes after its predecessors in the body (edges into the head left out); null when the body holds another cycle.</summary>
    private List<int>? Topological(int head, HashSet<int> body)
    {
        var incoming = new Dictionary<int, int>();
        foreach (int b in body)
        {
            incoming.TryAdd(b, 0);
            foreach (int s in successors[b])
            {
                if (s != head && body.Contains(s))
                {
                    incoming[s] = incoming.GetValueOrDefault(s) + 1;
                }
            }
        }

        var order = new List<int>();
        var ready = new Stack<int>();
        ready.Push(head);
        while (ready.Count > 0)
        {
            int b = ready.Pop();
            order.Add(b);
            foreach (int s in successors[b])
            {
                if (s != head && body.Contains(s) && --incoming[s] == 0)
                {
                    ready.Push(s);
                }
            }
        }

        return order.Count == body.Count ? order : null;
    }
}
