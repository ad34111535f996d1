namespace Ebpf.Kernel;

internal static class ContextRewriter
{
    public static (EbpfProgram Program, int Rewritten) Rewrite(EbpfProgram program, KernelProgramType type, ProgramEnvironment environment, ExecutionOptions options, IVerifier verifier) => (program, 0);
}
