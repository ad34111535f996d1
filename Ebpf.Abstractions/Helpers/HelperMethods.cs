using System.Reflection;

namespace Ebpf.Helpers;

/// <summary>
/// The method a helper's delegate names, when an engine may call that method itself instead of the delegate: at its
/// entry point (x64) or by name in generated code (the IL engine, x64's own helper loop). One rule for every engine.
/// </summary>
internal static class HelperMethods
{
    /// <summary>
    /// The one method <paramref name="function"/> names when calling it with the delegate's arguments (and, for an
    /// instance method, the delegate's target as <c>this</c>) is what invoking the delegate does, else null: a static
    /// method with no argument bound (a delegate of a static method closed over its first argument has one parameter
    /// more, or a target), or a non-virtual instance method of a class whose target is an instance of that class
    /// (lambdas and closures, a method group of an object; a virtual method's entry would be the declaration's, a
    /// struct's method takes a reference to the unboxed value); neither generic nor of a generic type (shared generic
    /// code may need a context the call does not carry); with <paramref name="parameters"/> parameters; not a multicast
    /// delegate. Null as well when the runtime has no reflection data for it (trimmed).
    /// </summary>
    public static MethodInfo? Callable(Delegate function, int parameters)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (!function.HasSingleTarget)
        {
            return null;
        }

        try
        {
            MethodInfo method = function.Method;
            bool callable = method.IsStatic
                ? function.Target is null
                : function.Target is { } target && !method.IsVirtual && !method.IsAbstract
                    && method.DeclaringType is { IsValueType: false } type && type.IsInstanceOfType(target);
            return callable && !method.IsGenericMethod && method.DeclaringType is { IsGenericType: false }
                && method.GetParameters().Length == parameters
                ? method
                : null;
        }
        catch (Exception e) when (e is NotSupportedException or PlatformNotSupportedException or InvalidOperationException or MemberAccessException)
        {
            // Without reflection data the delegate is called as it is.
            return null;
        }
    }

    /// <summary>
    /// <see cref="Callable"/> for code that names the method in generated IL, which must not tie a collectible assembly's
    /// unloading to the code's: null for a method of a collectible assembly too.
    /// </summary>
    public static MethodInfo? CallableByName(Delegate function, int parameters) =>
        Callable(function, parameters) is { } method && !method.Module.Assembly.IsCollectible ? method : null;
}
