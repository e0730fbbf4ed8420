package io.jgpt;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded mutation fuzzing for the file readers: each case must either load or throw {@link JgptException}, and may
 * allocate only in proportion to the bytes it was given, never what a corrupt header field claims.
 */
public final class Fuzz {
    /** Room for parsers, class loading and the like, on top of the per-input-byte allowance. */
    private static final long BASE_ALLOWANCE = 8L << 20;
    private static final long PER_BYTE_ALLOWANCE = 64;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int[] EXTREMES = {0, 1, -1, 2, 255, 256, 1024, 65535, 65536, Integer.MAX_VALUE,
            Integer.MIN_VALUE, Integer.MAX_VALUE / 2, 1 << 30};

    @FunctionalInterface
    public interface Load {
        void run() throws Exception;
    }

    private Fuzz() {}

    /** Runs one case; {@code description} says how to reproduce it (seed, case, mutation). */
    public static void check(String description, long inputBytes, Load load) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        try {
            load.run();
        } catch (JgptException expected) {
            assertTrue(expected.getMessage() != null && !expected.getMessage().contains("\n"),
                    description + ": message must be one line: " + expected.getMessage());
        } catch (Throwable t) {
            fail(description + ": threw " + t + " instead of JgptException", t);
        }
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        long allowed = BASE_ALLOWANCE + PER_BYTE_ALLOWANCE * inputBytes;
        assertTrue(allocated <= allowed, description + ": allocated " + allocated + " bytes for " + inputBytes
                + " input bytes");
    }

    /** A random damage to a valid file: flipped bytes, a truncation, garbage appended, or an extreme int32. */
    public static byte[] mutate(byte[] valid, SplittableRandom random, StringBuilder how) {
        byte[] out;
        switch (random.nextInt(5)) {
            case 0 -> {
                out = valid.clone();
                int flips = 1 + random.nextInt(8);
                how.append("flip ").append(flips).append(" bytes");
                for (int i = 0; i < flips && out.length > 0; i++) {
                    out[random.nextInt(out.length)] ^= (byte) (1 + random.nextInt(255));
                }
            }
            case 1 -> {
                int length = random.nextInt(valid.length + 1);
                how.append("truncate to ").append(length);
                out = Arrays.copyOf(valid, length);
            }
            case 2 -> {
                int extra = 1 + random.nextInt(64);
                how.append("append ").append(extra);
                out = Arrays.copyOf(valid, valid.length + extra);
                for (int i = valid.length; i < out.length; i++) {
                    out[i] = (byte) random.nextInt(256);
                }
            }
            default -> {
                // Header fields sit in the first few int32 of every format here; aim there most of the time.
                out = valid.clone();
                int slots = Math.max(1, Math.min(out.length / 4, random.nextBoolean() ? 8 : out.length / 4));
                int at = 4 * random.nextInt(slots);
                int value = random.nextBoolean() ? EXTREMES[random.nextInt(EXTREMES.length)] : random.nextInt();
                how.append("int32 at ").append(at).append(" = ").append(value);
                if (at + 4 <= out.length) {
                    ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
                }
            }
        }
        return out;
    }
}
