package io.jgpt.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * How long this process has been running, for start-up timings that begin with the process (the launcher
 * script included: it execs the JVM, which keeps its pid).
 *
 * <p>On Linux this is {@code /proc/uptime} minus the process's start time in {@code /proc/self/stat}, both
 * counted from boot, to 10 ms. {@link ProcessHandle.Info#startInstant()} is not used there: it adds the
 * start time to the boot time of {@code /proc/stat}, which is truncated to whole seconds, so every duration
 * measured from it came out too long by the fraction of a second the machine booted at (0.38 s on one VM).
 * Elsewhere it is the fallback.
 */
final class ProcessAge {
    /** Clock ticks per second of /proc's times (USER_HZ), 100 on every Linux architecture jgpt runs on. */
    private static final double TICKS_PER_SECOND = 100;

    private final Instant fallbackStart;

    private ProcessAge(Instant fallbackStart) {
        this.fallbackStart = fallbackStart;
    }

    /** Call early: the fallback's start instant is looked up here. */
    static ProcessAge current() {
        return new ProcessAge(ProcessHandle.current().info().startInstant().orElse(Instant.now()));
    }

    /** Seconds since the process started. */
    double seconds() {
        try {
            double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).trim().split("\\s+")[0]);
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the command name, which is in parentheses and may itself hold spaces: the start
            // time is field 22 of the whole line, the 20th after the ')'.
            String[] after = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return uptime - Long.parseLong(after[19]) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return Duration.between(fallbackStart, Instant.now()).toNanos() / 1e9;
        }
    }
}
