package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class ProcessAgeTest {

    @Test
    void processAgeIsAtLeastTheJvmsUptimeAndNotMuchMore() {
        ProcessAge age = ProcessAge.current();
        double jvm = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
        double process = age.seconds();
        // The process starts before the JVM does; /proc counts in 10 ms ticks. A wrong /proc field would be
        // off by far more than these bounds.
        assertTrue(process >= jvm - 0.02, "process age " + process + " s is below the JVM's uptime " + jvm + " s");
        assertTrue(process <= jvm + 0.5, "process age " + process + " s is well above the JVM's uptime " + jvm + " s");
        double later = age.seconds();
        assertTrue(later >= process, "process age went backwards: " + process + " then " + later);
    }
}
