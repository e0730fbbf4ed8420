package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void everyPieceRunsOnceOnTheCallerAndTheHelpers() {
        try (Parallel p = new Parallel(3)) {
            for (int round = 0; round < 200; round++) { // back to back, as kernels come: helpers spinning or parked
                int n = 1 + round % 37;
                AtomicIntegerArray runs = new AtomicIntegerArray(n);
                p.forEach(n, runs::incrementAndGet);
                for (int i = 0; i < n; i++) assertEquals(1, runs.get(i), "piece " + i + " of " + n + " in round " + round);
            }
            Set<String> threads = ConcurrentHashMap.newKeySet();
            for (int round = 0; round < 50 && threads.size() < 2; round++) {
                p.forEach(64, i -> {
                    threads.add(Thread.currentThread().getName());
                    busy(20_000);
                });
            }
            assertTrue(threads.size() >= 2, "the pieces never left one thread: " + threads);
        }
    }

    @Test
    void rangesCoverTheIndexSpaceWithTheSameCutsForAnyThreadCount() {
        int n = 1000, grain = 64;
        int[] one = new int[n], four = new int[n];
        try (Parallel serial = new Parallel(1); Parallel team = new Parallel(4)) {
            serial.forRange(n, grain, (from, to) -> Arrays.fill(one, from, to, from));
            team.forRange(n, grain, (from, to) -> Arrays.fill(four, from, to, from));
        }
        assertArrayEquals(one, four);
        assertEquals(960, four[n - 1], "the last range starts at the last multiple of the grain");
    }

    @Test
    void nestedCallsRunOnTheCallingThread() {
        try (Parallel p = new Parallel(2)) {
            int[] sums = new int[8];
            p.forEach(8, i -> {
                int[] inner = new int[10];
                p.forEach(10, j -> inner[j] = i * j);
                sums[i] = Arrays.stream(inner).sum();
            });
            for (int i = 0; i < 8; i++) assertEquals(45 * i, sums[i], "outer piece " + i);
        }
    }

    @Test
    void aFailingPieceIsRethrownToTheCallerAfterTheOthersFinish() {
        try (Parallel p = new Parallel(2)) {
            IllegalStateException boom = new IllegalStateException("piece 5");
            AtomicIntegerArray runs = new AtomicIntegerArray(16);
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> p.forEach(16, i -> {
                runs.incrementAndGet(i);
                if (i == 5) throw boom;
            }));
            assertSame(boom, thrown);
            int[] after = new int[4];
            p.forEach(4, i -> after[i] = i + 1); // still usable
            assertArrayEquals(new int[] {1, 2, 3, 4}, after);
        }
    }

    @Test
    void theHelpersOfAnUnclosedParallelStopOnceItIsCollected() throws InterruptedException {
        Set<Thread> before = helperThreads();
        new Parallel(3).forEach(8, i -> {}); // never closed
        Set<Thread> mine = helperThreads();
        mine.removeAll(before); // other tests' helpers may come and go meanwhile: watch only these
        assertEquals(2, mine.size(), "helpers started");
        for (int i = 0; i < 100 && mine.stream().anyMatch(Thread::isAlive); i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertTrue(mine.stream().noneMatch(Thread::isAlive), "helpers of an unreachable Parallel are still alive");
    }

    private static Set<Thread> helperThreads() {
        Set<Thread> out = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("jgpt-cpu-") && t.isAlive()) out.add(t);
        }
        return out;
    }

    private static void busy(long nanos) {
        long start = System.nanoTime();
        while (System.nanoTime() - start < nanos) Thread.onSpinWait();
    }
}
