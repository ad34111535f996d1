namespace Ebpf.Helpers;

/// <summary>A helper as rbpf has them: five 64-bit arguments (r1..r5), one 64-bit result (r0).</summary>
public delegate ulong HelperFunction(ulong arg1, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

/// <summary>A helper that also receives the run's <see cref="HelperContext"/>, to reach program memory safely or end the run.</summary>
public delegate ulong ContextHelperFunction(HelperContext context, ulong arg1, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
