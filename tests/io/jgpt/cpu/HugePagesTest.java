package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Weight memory: exactly the size asked for, zeroed, writable, 2 MiB aligned on Linux (so that its whole
 * 2 MiB pages can be huge pages), the same kind of segment as an arena's (the kernels' JIT profile does not
 * split), and released with its arena.
 */
class HugePagesTest {

    @Test
    void memoryOfTheSizeAskedForReleasedWithItsArena() {
        long bytes = (5L << 20) + 123;
        MemorySegment[] kept = new MemorySegment[1];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment s = HugePages.allocate(arena, bytes);
            kept[0] = s;
            assertEquals(bytes, s.byteSize());
            assertEquals(arena.allocate(8).getClass(), s.getClass(), "the same segment class as arena memory");
            for (long i = 0; i < bytes; i += 4096) assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i), "zeroed at " + i);
            s.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 7);
            assertEquals(7, s.get(ValueLayout.JAVA_BYTE, bytes - 1));
            if (linux()) assertEquals(0, s.address() % (2L << 20), "2 MiB aligned");
        }
        assertThrows(IllegalStateException.class, () -> kept[0].get(ValueLayout.JAVA_BYTE, 0), "released with its arena");
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(100, HugePages.allocate(arena, 100).byteSize(), "small sizes come from the arena");
        }
    }

    private static boolean linux() {
        return System.getProperty("os.name", "").startsWith("Linux");
    }
}
