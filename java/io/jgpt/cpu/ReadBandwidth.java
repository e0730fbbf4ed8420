package io.jgpt.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's read bandwidth as decoding sees it: every worker sums its own contiguous part of a buffer
 * much larger than the caches with vector loads (four independent accumulators, so the adds never wait),
 * the pattern {@link MatVec} streams weights with. The buffer is the memory the weights' copies live in
 * ({@link HugePages}), filled once, freed after.
 */
public final class ReadBandwidth {
    private static final VectorSpecies<Float> S = Simd.S;
    private static final long STEP = 4L * S.vectorByteSize();

    private ReadBandwidth() {}

    /** Bytes per second of the fastest of {@code passes} full passes over a {@code bytes} buffer, with {@code threads} workers. */
    public static double measure(int threads, long bytes, int passes) {
        long pieces = Math.max(threads, 256); // many pieces: idle workers steal, none waits on a straggler
        long piece = Math.max(STEP, bytes / pieces / STEP * STEP);
        long total = piece * pieces;
        try (Arena arena = Arena.ofShared(); Parallel parallel = new Parallel(threads)) {
            MemorySegment buffer = HugePages.allocate(arena, total); // the memory the weights stream from
            buffer.fill((byte) 1); // touch every page before timing
            float[] sink = new float[(int) pieces];
            for (int i = 0; i < 2000; i++) sink[0] += sum(buffer, 0, 64 * STEP); // compiled before timing
            double best = 0;
            for (int p = 0; p < passes; p++) {
                long start = System.nanoTime();
                parallel.forEach((int) pieces, i -> sink[i] = sum(buffer, i * piece, (i + 1) * piece));
                best = Math.max(best, total / ((System.nanoTime() - start) / 1e9));
            }
            if (Float.isNaN(sink[0])) throw new IllegalStateException("unreachable: the sum is finite");
            return best;
        }
    }

    private static float sum(MemorySegment s, long from, long to) {
        FloatVector a = FloatVector.zero(S), b = a, c = a, d = a;
        long v = S.vectorByteSize();
        for (long o = from; o < to; o += STEP) {
            a = a.add(FloatVector.fromMemorySegment(S, s, o, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(S, s, o + v, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(S, s, o + 2 * v, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(S, s, o + 3 * v, ByteOrder.LITTLE_ENDIAN));
        }
        return MatVec.sum(a.add(b).add(c).add(d));
    }
}
