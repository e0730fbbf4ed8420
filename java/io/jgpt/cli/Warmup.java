package io.jgpt.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.function.IntConsumer;

/**
 * Untimed steps before a benchmark times anything: at least a minimum, then more until one whole step runs
 * while the JIT compiles nothing (or a cap is reached). On two cores the compiler threads share the CPU with
 * the workers, so a fixed two-step warm-up still timed background compilation: measured on the small config,
 * 2 warm-up steps gave 415–442 ms/step, 8 gave 386–402.
 */
final class Warmup {

    private Warmup() {}

    /** Runs {@code step.accept(i)} for i = 0, 1, ...; returns how many steps ran. */
    static int run(int minSteps, int maxSteps, IntConsumer step) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean observable = jit != null && jit.isCompilationTimeMonitoringSupported();
        int done = 0;
        while (done < minSteps) step.accept(done++);
        if (!observable) return done;
        while (done < maxSteps) {
            long before = jit.getTotalCompilationTime();
            step.accept(done++);
            if (jit.getTotalCompilationTime() == before) break;
        }
        return done;
    }
}
