package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WarmupTest {

    @Test
    void runsAtLeastTheMinimumAndNeverPastTheCapInStepOrder() {
        List<Integer> seen = new ArrayList<>();
        assertEquals(3, Warmup.run(3, 3, seen::add));
        assertEquals(List.of(0, 1, 2), seen);

        seen.clear();
        int ran = Warmup.run(2, 6, seen::add);
        assertTrue(ran >= 2 && ran <= 6, "ran " + ran);
        assertEquals(ran, seen.size());
        for (int i = 0; i < ran; i++) assertEquals(i, seen.get(i));
        // Where the JIT is observable, one more step past the minimum checks that it has gone quiet.
        if (ManagementFactory.getCompilationMXBean().isCompilationTimeMonitoringSupported()) assertTrue(ran >= 3);
    }
}
