using Ebpf.Isa;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Random programs for the soundness property: the shapes the proving verifier reasons about, each drawn correct or
/// off by a few bytes: input reads behind a pointer-versus-end check, behind a length check, through an index checked
/// against the length, and unchecked; map lookups with and without a null check, at offsets in and past the value;
/// stack slots passed to a local call that writes through the pointer (in or past the caller's frame); uninitialised
/// stack reads; and arithmetic noise with edge immediates. Registers: r6 = input,
/// r7 = input end, r8 = length (they survive helper and local calls).
/// </summary>
internal static class SafetyProgramGenerator
{
    /// <summary>The map the programs look up: 4-byte keys, <see cref="ValueSize"/>-byte values, 4 entries (key 5 misses).</summary>
    public const int ValueSize = 16;

    public static Instruction[] Generate(Random random)
    {
        var code = new List<Instruction>
        {
            I(OpCodes.Mov64Reg, 6, 1),
            I(OpCodes.Mov64Reg, 7, 1),
            I(OpCodes.Add64Reg, 7, 2),
            I(OpCodes.Mov64Reg, 8, 2),
            I(OpCodes.Mov64Imm, 0, 0),
        };
        bool callsF = false;
        int blocks = random.Next(1, 7);
        for (int b = 0; b < blocks; b++)
        {
            int slack = random.Next(4) == 0 ? random.Next(1, 4) : 0; // sometimes off by a few bytes
            int size = 1 << random.Next(4);
            switch (random.Next(8))
            {
                case 0: // if (p + k > end) skip; read [p + k - size + slack]
                    int k = random.Next(size, 40);
                    code.Add(I(OpCodes.Mov64Reg, 3, 6));
                    code.Add(I(OpCodes.Add64Imm, 3, imm: k));
                    code.Add(I(OpCodes.JgtReg, 3, 7, 1));
                    code.Add(I(Load(size), 5, 6, (short)(k - size + slack)));
                    break;
                case 1: // if (len < n) skip; read [p + n - size + slack]
                    int n = random.Next(size, 40);
                    code.Add(I(OpCodes.JltImm, 8, 0, 1, n));
                    code.Add(I(Load(size), 5, 6, (short)(n - size + slack)));
                    break;
                case 2: // i = p[0] (checked); if (i + slack >= len) skip; read p[i]
                    code.Add(I(OpCodes.JltImm, 8, 0, 6, 1));
                    code.Add(I(OpCodes.LdxB, 4, 6));
                    code.Add(I(OpCodes.Add64Imm, 4, imm: -slack));
                    code.Add(I(OpCodes.JgeReg, 4, 8, 3));
                    code.Add(I(OpCodes.Mov64Reg, 3, 6));
                    code.Add(I(OpCodes.Add64Reg, 3, 4));
                    code.Add(I(OpCodes.LdxB, 5, 3, (short)slack));
                    break;
                case 3: // unchecked read
                    code.Add(I(Load(size), 5, 6, (short)random.Next(0, 24)));
                    break;
                case 4: // map lookup of key 0..5, with or without a null check, at an offset in or past the value
                    bool check = random.Next(3) != 0;
                    code.Add(I(OpCodes.StW, 10, 0, -4, random.Next(6)));
                    code.Add(new Instruction(OpCodes.Lddw, 1, (byte)LddwSource.MapByIndex, 0, 0));
                    code.Add(new Instruction(0, 0, 0, 0, 0));
                    code.Add(I(OpCodes.Mov64Reg, 2, 10));
                    code.Add(I(OpCodes.Add64Imm, 2, imm: -4));
                    code.Add(I(OpCodes.Call, imm: 1));
                    if (check)
                    {
                        code.Add(I(OpCodes.JeqImm, 0, 0, 2, 0));
                    }

                    code.Add(I(Load(size), 5, 0, (short)(random.Next(0, ValueSize - size + 1) + slack)));
                    code.Add(I(OpCodes.StxDW, 0, 5, 0));
                    code.Add(I(OpCodes.Mov64Imm, 0, 0));
                    break;
                case 5: // a stack slot handed to a local call that writes through the pointer
                    callsF = true;
                    code.Add(I(OpCodes.StDW, 10, 0, -8, Edge(random)));
                    code.Add(I(OpCodes.Mov64Reg, 1, 10));
                    code.Add(I(OpCodes.Add64Imm, 1, imm: -8 + (slack * 8)));
                    code.Add(I(OpCodes.Call, 0, 1, 0, 0)); // patched to f below
                    code.Add(I(OpCodes.LdxDW, 5, 10, -8));
                    break;
                case 6: // a stack read, sometimes of bytes never written
                    code.Add(I(OpCodes.StW, 10, 0, -16, 3));
                    code.Add(I(Load(size), 5, 10, (short)(-16 - (slack * 4))));
                    break;
                default: // arithmetic noise on r0 and r5
                    code.Add(I(OpCodes.Mov64Imm, 5, imm: Edge(random)));
                    code.Add(I(OpCodes.Add64Reg, 0, 5));
                    code.Add(I(OpCodes.And64Imm, 0, imm: Edge(random)));
                    break;
            }
        }

        code.Add(I(OpCodes.Exit));
        if (callsF)
        {
            int f = code.Count;
            for (int pc = 0; pc < f; pc++)
            {
                if (code[pc].OpCode == OpCodes.Call && code[pc].Src == 1)
                {
                    code[pc] = I(OpCodes.Call, 0, 1, 0, f - pc - 1);
                }
            }

            // f: r0 = [r1] + 1; [r1] = r0; r0 = 0; exit
            code.Add(I(OpCodes.LdxDW, 0, 1));
            code.Add(I(OpCodes.Add64Imm, 0, imm: 1));
            code.Add(I(OpCodes.StxDW, 1, 0));
            code.Add(I(OpCodes.Mov64Imm, 0, 0));
            code.Add(I(OpCodes.Exit));
        }

        return code.ToArray();
    }

    private static readonly int[] Edges = [0, 1, -1, 7, 8, 31, 32, 63, 64, 0xff, 0xffff, int.MinValue, int.MaxValue];

    private static int Edge(Random random) => random.Next(2) == 0 ? Edges[random.Next(Edges.Length)] : random.Next(-300, 300);

    private static byte Load(int size) => size switch
    {
        1 => OpCodes.LdxB,
        2 => OpCodes.LdxH,
        4 => OpCodes.LdxW,
        _ => OpCodes.LdxDW,
    };

    private static Instruction I(byte opCode, byte dst = 0, byte src = 0, short offset = 0, int imm = 0) => new(opCode, dst, src, offset, imm);
}
