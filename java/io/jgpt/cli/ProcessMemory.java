package io.jgpt.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's resident memory from {@code /proc/self/status} (Linux); -1 where it cannot be read. */
final class ProcessMemory {
    private ProcessMemory() {}

    /** Peak resident set size so far (VmHWM), in bytes. */
    static long peakResident() {
        return field("VmHWM:");
    }

    /** Current resident set size (VmRSS), in bytes. */
    static long resident() {
        return field("VmRSS:");
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) return 1024 * Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
