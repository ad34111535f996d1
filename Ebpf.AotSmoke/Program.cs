using Ebpf.AotSmoke;

// Exit code 0 when every check passed, 1 otherwise; one line per check.
return SmokeChecks.RunAll(Console.Out);
