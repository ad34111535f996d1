using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ebpf.Diagnostics;

namespace Ebpf.Tests.Diagnostics;

/// <summary>
/// Listens to the <c>Ebpf</c> meter and activity source and keeps what the creating thread records (measurements and
/// activities are reported synchronously on the thread that makes them, so tests running in parallel do not mix in).
/// </summary>
public sealed class TelemetryRecorder : IDisposable
{
    private readonly int thread = Environment.CurrentManagedThreadId;
    private readonly MeterListener meters = new();
    private readonly ActivityListener activities;
    private readonly object gate = new();

    public TelemetryRecorder()
    {
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EbpfTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        meters.Start();
        activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EbpfTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (Environment.CurrentManagedThreadId == thread)
                {
                    lock (gate)
                    {
                        Activities.Add(activity);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(activities);
    }

    /// <summary>Measurements: instrument name, value, tags.</summary>
    public List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = [];

    /// <summary>Stopped activities.</summary>
    public List<Activity> Activities { get; } = [];

    /// <summary>The sum of <paramref name="instrument"/>'s measurements whose tags include all of <paramref name="tags"/>.</summary>
    public double Sum(string instrument, params (string Key, object Value)[] tags)
    {
        lock (gate)
        {
            return Measurements
                .Where(m => m.Instrument == instrument && tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value)))
                .Sum(m => m.Value);
        }
    }

    public void Dispose()
    {
        meters.Dispose();
        activities.Dispose();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (Environment.CurrentManagedThreadId != thread)
        {
            return;
        }

        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        lock (gate)
        {
            Measurements.Add((instrument.Name, value, copy));
        }
    }
}
