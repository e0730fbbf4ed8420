package io.jgpt.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.function.IntConsumer;

/**
 * Untimed steps before a benchmark times anything: at least a minimum, then more until the JIT spends under
 * 1 % of a step compiling (or a cap is reached). On two cores the compiler threads share the CPU with the
 * workers, so a fixed two-step warm-up still timed background compilation: measured on the small config,
 * 2 warm-up steps gave 415–442 ms/step, 8 gave 386–402. (Rarely called methods keep reaching compile
 * thresholds for dozens of steps; those few milliseconds do not change a step's time, hence the 1 %.)
 */
final class Warmup {

    /** Compilation time, as a fraction of a step's time, below which the JIT counts as settled. */
    private static final double QUIET = 0.01;

    private Warmup() {}

    /** Runs {@code step.accept(i)} for i = 0, 1, ...; returns how many steps ran. */
    static int run(int minSteps, int maxSteps, IntConsumer step) {
        int done = 0;
        while (done < minSteps) step.accept(done++);
        // A trimmed (jlinked) runtime may lack java.management: then only the minimum runs.
        if (ModuleLayer.boot().findModule("java.management").isEmpty()) return done;
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) return done;
        while (done < maxSteps) {
            long compiledBefore = jit.getTotalCompilationTime(), start = System.nanoTime();
            step.accept(done++);
            double stepMillis = (System.nanoTime() - start) / 1e6;
            if (jit.getTotalCompilationTime() - compiledBefore <= QUIET * stepMillis) break;
        }
        return done;
    }
}
