package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The warm-up ends whether or not the weights open: nobody who awaits it waits forever. */
class KernelWarmUpTest {

    @Test
    void endsAfterWarmingUpOnTheSamples() {
        KernelWarmUp w = KernelWarmUp.start();
        w.weightsOpen(List.of(WeightMatrix.ofArray(new float[5 * 7], 5, 7, WeightMatrix.Layout.ROWS_ARE_INPUTS)));
        assertTimeoutPreemptively(Duration.ofSeconds(60), w::await);
        assertFalse(warmUpThreadAlive());
    }

    @Test
    void endsWhenTheWeightsDoNotOpen() {
        KernelWarmUp w = KernelWarmUp.start();
        w.cancel();
        assertTimeoutPreemptively(Duration.ofSeconds(60), w::await);
        assertFalse(warmUpThreadAlive());
    }

    private static boolean warmUpThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("jgpt-kernel-warm-up"));
    }
}
