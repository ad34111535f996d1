using System.Globalization;
using System.Runtime.InteropServices;

namespace Ebpf.Tests.X64;

/// <summary>Where the x64 engine can run, and the process's memory map.</summary>
internal static class X64Platform
{
    /// <summary>True on x86-64 Linux, the platform the engine supports.</summary>
    public static bool Supported => RuntimeInformation.ProcessArchitecture == Architecture.X64 && OperatingSystem.IsLinux();

    /// <summary>The permissions (e.g. <c>r-xp</c>) of the mapping holding <paramref name="address"/>, or null when unmapped.</summary>
    public static string? PermissionsAt(nint address)
    {
        ulong a = (ulong)address;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var fields = line.Split(' ', 3);
            var range = fields[0].Split('-');
            ulong start = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            ulong end = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (a >= start && a < end)
            {
                return fields[1];
            }
        }

        return null;
    }
}
