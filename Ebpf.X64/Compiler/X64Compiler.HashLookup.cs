using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Runtime;
using Iced.Intel;
using static Ebpf.X64.Compiler.RegisterMap;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Compiler;

/// <summary>
/// Map lookup helper calls on a known hash map (plain, per-CPU, LRU or LRU per-CPU), walked in the code (see
/// <see cref="HashLookupLayout"/>): the key's hash, one lock-free walk of the map's key index and the value address,
/// without leaving the code. Where the index's protocol says the walk cannot be trusted (a writer is at work or was
/// during the walk), and in an LRU map where the lookup finds an entry that is not the most recently used (its use
/// moves it to the front, under the map's lock), the code makes the helper call as before, and the host calls the
/// map's lookup (<see cref="DirectLookup.Find"/>).
/// </summary>
/// <remarks>
/// <para>GC safety: the code calls nothing and runs on no managed object. It reads the index's arrays, which are pinned
/// (their addresses, compiled into the code, never change), and the map's native storage. All of it is reachable from
/// the call site's <see cref="HelperSite.Lookup"/> (the map and its index), which the compiled program holds in its site
/// table, and every run keeps the compiled program alive until its code has returned.</para>
/// <para>Cancellation: the walk does not return to the host, so <see cref="IsInlineCall"/> reports the call as one that
/// does not leave, and a loop through it yields (or polls) as a loop without a call does.</para>
/// </remarks>
internal sealed partial class X64Compiler
{
    /// <summary>The hash-map walk of the helper call at <paramref name="pc"/>, or null (see the static method).</summary>
    private HashLookupLayout? HashLookupAt(int pc, Helper helper) => HashLookupAt(program, environment, options, pc, helper);

    /// <summary>
    /// The layout of the hash map the helper call at <paramref name="pc"/> looks up when the code walks it itself: a
    /// direct lookup (<see cref="InlineLookupSite.FindDirect"/>) whose map gives a layout, with a slot stride that fits
    /// an immediate; else null (the call is made).
    /// </summary>
    private static HashLookupLayout? HashLookupAt(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, int pc, Helper helper) =>
        InlineLookupAt(program, environment, options, pc, helper) is null
        && InlineLookupSite.FindDirect(program, environment, helper, pc, EngineName)?.Layout is { SlotStride: > 0 and <= int.MaxValue, Capacity: > 0 } layout
            ? layout
            : null;

    /// <summary>
    /// r0 = the value address of the key at r2 in the map of <paramref name="layout"/>, or 0, after the check the helper
    /// makes of the key's bytes (without memory checks: a key outside the entry frame is left to the call); where the walk cannot be trusted, the helper call of <paramref name="helper"/> (see the
    /// class). Changes only r0 and the scratch registers on the walk's path.
    /// </summary>
    private void EmitHashLookup(int pc, Helper helper, HashLookupLayout layout)
    {
        var key = R64(2);
        bool wide = layout.KeySize == 8;
        var call = a.CreateLabel();
        if (options.HelperArgumentChecks && options.MemoryChecks)
        {
            if (!IsOwnFrameArgument(pc, 2, layout.KeySize))
            {
                EmitCheck(pc, __[key], layout.KeySize, write: false, StackCheck.AllFrames);
            }
        }
        else if (options.HelperArgumentChecks)
        {
            // Without memory checks there is no shared slow check: the walk takes only a key inside the entry function's
            // frame (readable in every frame the helper's check allows), and any other key pointer goes to the call,
            // whose host side checks it as the helper does.
            if (stackSize < layout.KeySize)
            {
                a.jmp(call);
            }
            else
            {
                a.mov(rcx, key);
                a.sub(rcx, Block(RunBlock.StackEndOffset));
                a.add(rcx, stackSize);
                a.cmp(rcx, stackSize - layout.KeySize);
                a.ja(call);
            }
        }

        var done = a.CreateLabel();
        var nothing = a.CreateLabel();
        var walk = a.CreateLabel();
        var next = a.CreateLabel();
        var absent = a.CreateLabel();
        var found = a.CreateLabel();
        var verify = a.CreateLabel();

        // A disposed map finds nothing.
        a.mov(r11, (ulong)layout.LiveEntries);
        a.cmp(__qword_ptr[r11], 0);
        a.je(nothing);

        // rcx = Mix(seed ^ key), folded to 32 bits.
        if (wide)
        {
            a.mov(rax, __qword_ptr[key]);
        }
        else
        {
            a.mov(eax, __dword_ptr[key]);
        }

        a.mov(rcx, layout.Seed);
        a.xor(rcx, rax);
        EmitHashFold(HashLookupLayout.MixMultiplier1);
        EmitHashFold(HashLookupLayout.MixMultiplier2);
        EmitHashShift();
        a.mov(rdx, rcx);
        a.shr(rdx, 32);
        a.xor(ecx, edx);

        // The sequence before the walk (odd: a writer is at work); rcx = sequence << 32 | hash from here on.
        a.mov(rdx, (ulong)layout.Sequence);
        a.mov(edx, __dword_ptr[rdx]);
        a.test(dl, 1);
        a.jne(call);
        a.shl(rdx, 32);
        a.or(rcx, rdx);

        // r11 = the bucket's first link, edx = the links the walk may still follow.
        a.mov(eax, ecx);
        a.and(eax, (int)layout.BucketMask);
        a.mov(r11, (ulong)layout.Buckets);
        a.mov(r11d, __dword_ptr[r11 + rax * 4]);
        a.mov(edx, layout.Capacity);

        Bind(ref walk);
        a.test(r11d, r11d);
        a.je(absent);
        a.sub(r11d, 1);
        a.cmp(r11d, layout.Capacity);
        a.jae(absent);
        a.mov(rax, (ulong)layout.Hashes);
        a.cmp(__dword_ptr[rax + r11 * 4], ecx);
        a.jne(next);
        a.mov(rax, (ulong)layout.Keys);
        if (wide)
        {
            a.mov(rax, __qword_ptr[rax + r11 * 8]);
            a.cmp(rax, __qword_ptr[key]);
        }
        else
        {
            a.mov(eax, __dword_ptr[rax + r11 * 8]);
            a.cmp(eax, __dword_ptr[key]);
        }

        a.je(found);
        Bind(ref next);
        a.mov(rax, (ulong)layout.Next);
        a.mov(r11d, __dword_ptr[rax + r11 * 4]);
        a.sub(edx, 1);
        a.jne(walk);

        Bind(ref absent);
        a.xor(eax, eax);
        a.jmp(verify);

        Bind(ref found);
        if (layout.Newest != 0)
        {
            // An LRU map: only the most recently used entry is found here (read between the sequence's two reads, so that
            // at one moment the slot held the key and was the newest); the lookup of any other entry moves it to the
            // front, which the map's lookup does under its lock.
            a.mov(rax, (ulong)layout.Newest);
            a.cmp(__dword_ptr[rax], r11d);
            a.jne(call);
        }

        a.imul(r11, r11, (int)layout.SlotStride);
        a.mov(rax, (ulong)layout.Values);
        a.add(rax, r11);

        // The sequence again (x86-64 keeps loads in order, so this read follows the walk's): moved, and the answer may
        // be torn.
        Bind(ref verify);
        a.shr(rcx, 32);
        a.mov(rdx, (ulong)layout.Sequence);
        a.cmp(__dword_ptr[rdx], ecx);
        a.jne(call);

        cold.Add(() =>
        {
            Bind(ref nothing);
            a.xor(eax, eax);
            a.jmp(done);

            Bind(ref call);
            EmitHelperCall(pc, helper, callxRegister: -1);
            a.jmp(done);
        });

        Bind(ref done);
    }

    /// <summary>One step of the hash's avalanche: <c>rcx ^= rcx &gt;&gt; 33; rcx *= multiplier</c> (rdx scratch).</summary>
    private void EmitHashFold(ulong multiplier)
    {
        EmitHashShift();
        a.mov(rdx, multiplier);
        a.imul(rcx, rdx);
    }

    /// <summary><c>rcx ^= rcx &gt;&gt; 33</c> (rdx scratch).</summary>
    private void EmitHashShift()
    {
        a.mov(rdx, rcx);
        a.shr(rdx, 33);
        a.xor(rcx, rdx);
    }
}
