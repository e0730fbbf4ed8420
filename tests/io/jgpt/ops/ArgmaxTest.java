package io.jgpt.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.cpu.CpuOps;
import io.jgpt.cpu.CpuTensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Greedy decoding's rule ({@link Argmax}) and the CPU's argmaxRows: the largest value, the lowest index among
 * equals, NaN never winning; checked against a scan from the other end (which finds the lowest index among
 * equals with >=) on random rows with planted ties, NaNs and infinities.
 */
class ArgmaxTest {

    /** The same choice found another way: from the last index down, keeping the newest of equals. */
    private static int fromTheEnd(float[] a, int from, int length) {
        int best = from + length - 1;
        for (int i = from + length - 1; i >= from; i--) {
            float v = Float.isNaN(a[i]) ? Float.NEGATIVE_INFINITY : a[i];
            float b = Float.isNaN(a[best]) ? Float.NEGATIVE_INFINITY : a[best];
            if (v >= b) best = i;
        }
        return best - from;
    }

    @Test
    void edgeCases() {
        assertEquals(1, Argmax.of(new float[] {1, 3, 3, 2}, 0, 4), "ties go to the lowest index");
        assertEquals(2, Argmax.of(new float[] {Float.NaN, 1, 5}, 0, 3), "NaN never wins, even first");
        assertEquals(0, Argmax.of(new float[] {Float.NaN, Float.NaN}, 0, 2), "all NaN: index 0");
        assertEquals(0, Argmax.of(new float[] {Float.NEGATIVE_INFINITY, Float.NaN}, 0, 2));
        assertEquals(1, Argmax.of(new float[] {9, -1, 0}, 1, 2), "counted from the start of the slice");
        assertEquals(0, Argmax.of(new float[] {-0f, 0f}, 0, 2), "-0 equals 0");
    }

    @Test
    void cpuRowsFollowTheRule() {
        Random r = new Random(3);
        int rows = 7, v = 1000;
        float[] logits = new float[rows * v + 5]; // a view at offset 5
        for (int i = 0; i < logits.length; i++) {
            float x = (float) Math.floor(r.nextGaussian() * 4); // coarse values: many ties
            int kind = r.nextInt(200);
            logits[i] = kind == 0 ? Float.NaN : kind == 1 ? Float.NEGATIVE_INFINITY : x;
        }
        int[] expected = new int[rows];
        for (int row = 0; row < rows; row++) expected[row] = fromTheEnd(logits, 5 + row * v, v);
        try (CpuOps ops = new CpuOps(1)) {
            var all = CpuTensor.ofFloats(logits, logits.length);
            var out = CpuTensor.ofInts(new int[rows], rows);
            ops.argmaxRows(out, all.view(5, rows, 1, v));
            assertArrayEquals(expected, out.ints());
            for (int row = 0; row < rows; row++) assertEquals(expected[row], Argmax.of(logits, 5 + row * v, v));
        }
    }
}
