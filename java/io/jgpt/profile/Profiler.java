package io.jgpt.profile;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects timed spans (one per kernel launch, cuBLAS call or CPU op), each declaring the bytes it moves
 * and the floating-point operations it performs, and turns them into per-name statistics and a Chrome
 * trace. Backends call {@link #begin()} / {@link #end} around each unit of work; the {@link Clock} they
 * supply decides what a time stamp is (host nanoseconds on the CPU, recorded events on a GPU stream), so
 * resolving durations is deferred to {@link #flush()}, which callers invoke at the end of a step.
 */
public final class Profiler {

    /** A source of time stamps. Stamps are opaque handles; only differences between them mean anything. */
    public interface Clock {
        long mark();

        /** Microseconds from stamp a to stamp b; may wait for the device to reach b. */
        double microsBetween(long a, long b);

        /** All stamps handed out so far may be recycled. */
        default void reset() {}
    }

    /** Statistics for one span name. */
    public static final class Stat {
        public final String name;
        public long calls;
        public double totalMicros;
        public double bytes;
        public double flops;

        Stat(String name) {
            this.name = name;
        }

        public double meanMicros() {
            return calls == 0 ? 0 : totalMicros / calls;
        }

        public double gbPerSecond() {
            return totalMicros == 0 ? 0 : bytes / (totalMicros * 1e3);
        }

        public double tflopsPerSecond() {
            return totalMicros == 0 ? 0 : flops / (totalMicros * 1e6);
        }
    }

    /** One trace event: start and duration in microseconds since the profiler's first stamp. */
    public record Event(String name, double startMicros, double durMicros, long bytes, double flops) {}

    private record Pending(String name, long begin, long end, long bytes, double flops) {}

    public static final Profiler OFF = new Profiler(null);

    private final Clock clock;
    private final List<Pending> pending = new ArrayList<>();
    private final Map<String, Stat> stats = new LinkedHashMap<>();
    private final List<Event> events = new ArrayList<>();
    private long origin = -1;
    private double originOffsetMicros;
    private int maxEvents = 200_000;

    public Profiler(Clock clock) {
        this.clock = clock;
    }

    public boolean enabled() {
        return clock != null;
    }

    /** Caps the number of trace events kept (statistics are always complete). */
    public void setMaxEvents(int maxEvents) {
        this.maxEvents = maxEvents;
    }

    /** Thread-safe, like {@link #end}: a communication thread records its collectives beside the compute thread. */
    public synchronized long begin() {
        if (clock == null) return -1;
        long stamp = clock.mark();
        if (origin < 0) origin = stamp;
        return stamp;
    }

    public synchronized void end(long begin, String name, long bytes, double flops) {
        if (clock == null || begin < 0) return;
        pending.add(new Pending(name, begin, clock.mark(), bytes, flops));
    }

    /** Resolves pending spans into statistics and trace events. */
    public synchronized void flush() {
        if (clock == null || pending.isEmpty()) return;
        for (Pending p : pending) {
            double start = originOffsetMicros + clock.microsBetween(origin, p.begin);
            double dur = clock.microsBetween(p.begin, p.end);
            Stat s = stats.computeIfAbsent(p.name, Stat::new);
            s.calls++;
            s.totalMicros += dur;
            s.bytes += p.bytes;
            s.flops += p.flops;
            if (events.size() < maxEvents) events.add(new Event(p.name, start, dur, p.bytes, p.flops));
        }
        // Continue the trace's time line after a clock reset by starting a fresh origin at the last end.
        Pending last = pending.getLast();
        originOffsetMicros += clock.microsBetween(origin, last.end);
        pending.clear();
        origin = -1;
        clock.reset();
    }

    /** Forgets everything measured so far (e.g. after warm-up). */
    public void clear() {
        flush();
        stats.clear();
        events.clear();
        originOffsetMicros = 0;
    }

    public List<Stat> stats() {
        return List.copyOf(stats.values());
    }

    public List<Event> events() {
        return List.copyOf(events);
    }
}
