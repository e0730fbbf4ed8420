package io.jgpt.cpu;

import static io.jgpt.cpu.Fd.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.ops.Dropout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * attentionCached against the training attentionForward on the same qkv: prefilling everything at once,
 * token by token, and in uneven chunks; and sequences at different positions in one call against each one
 * alone. Caches start as NaN, so reading a row that was never written would show in the output.
 */
class CachedAttentionTest {

    private static final CpuOps OPS = new CpuOps(2);
    // hs = 19 is not a multiple of the vector width; the mask and cache are longer than the sequence.
    private static final int B = 2, T = 7, NH = 2, HS = 19, C = NH * HS, MAX_T = T + 3;

    @AfterAll
    static void close() {
        OPS.close();
    }

    /** @param chunk new positions per call (the last call takes what is left) */
    @ParameterizedTest
    @ValueSource(ints = {T, 1, 3})
    void matchesFullAttention(int chunk) {
        var r = new Random(31 + chunk);
        float[] qkv = randn(r, B * T * 3 * C, 1), mask = Reference.causalMask(MAX_T);
        var m = CpuTensor.ofFloats(mask, MAX_T, MAX_T);
        float[] expected = new float[B * T * C];
        OPS.attentionForward(CpuTensor.ofFloats(expected, B, T, C), CpuTensor.ofFloats(new float[B * NH * T], B, NH, T),
                CpuTensor.ofFloats(qkv, B, T, 3 * C), NH, Dropout.NONE);

        float[] kc = nans(B * NH * MAX_T * HS), vc = nans(B * NH * MAX_T * HS), actual = new float[B * T * C];
        var kCache = CpuTensor.ofFloats(kc, B, NH, MAX_T, HS);
        var vCache = CpuTensor.ofFloats(vc, B, NH, MAX_T, HS);
        for (int pos = 0; pos < T; pos += chunk) {
            int tn = Math.min(chunk, T - pos);
            float[] out = new float[B * tn * C];
            var newQkv = CpuTensor.ofFloats(rows(qkv, 3 * C, pos, tn), B, tn, 3 * C);
            OPS.attentionCached(CpuTensor.ofFloats(out, B, tn, C), newQkv, kCache, vCache, m, consecutive(pos, tn), NH);
            for (int b = 0; b < B; b++) System.arraycopy(out, b * tn * C, actual, (b * T + pos) * C, tn * C);
        }
        assertArrayEquals(expected, actual, 1e-6f, "attention out, chunks of " + chunk);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    int row = ((b * NH + h) * MAX_T + t) * HS, k = (b * T + t) * 3 * C + C + h * HS;
                    assertArrayEquals(Arrays.copyOfRange(qkv, k, k + HS), Arrays.copyOfRange(kc, row, row + HS));
                    assertArrayEquals(Arrays.copyOfRange(qkv, k + C, k + C + HS), Arrays.copyOfRange(vc, row, row + HS));
                }
            }
        }
    }

    /**
     * One call with sequence 0 at position 5 and sequence 1 at position 2 (what a batched decoding step does)
     * gives each sequence the bits of a call of its own, and writes only its own cache rows.
     */
    @Test
    void sequencesAtDifferentPositionsMatchEachAlone() {
        var r = new Random(7);
        var m = CpuTensor.ofFloats(Reference.causalMask(MAX_T), MAX_T, MAX_T);
        int seqSize = NH * MAX_T * HS;
        float[] kc = randn(r, B * seqSize, 1), vc = randn(r, B * seqSize, 1), qkv = randn(r, B * 3 * C, 1);
        int[] at = {5, 2};
        float[] together = new float[B * C], kTogether = kc.clone(), vTogether = vc.clone();
        OPS.attentionCached(CpuTensor.ofFloats(together, B, 1, C), CpuTensor.ofFloats(qkv.clone(), B, 1, 3 * C),
                CpuTensor.ofFloats(kTogether, B, NH, MAX_T, HS), CpuTensor.ofFloats(vTogether, B, NH, MAX_T, HS), m,
                CpuTensor.ofInts(at.clone(), B, 1), NH);
        for (int b = 0; b < B; b++) {
            float[] alone = new float[C];
            float[] k = Arrays.copyOfRange(kc, b * seqSize, (b + 1) * seqSize);
            float[] v = Arrays.copyOfRange(vc, b * seqSize, (b + 1) * seqSize);
            OPS.attentionCached(CpuTensor.ofFloats(alone, 1, 1, C),
                    CpuTensor.ofFloats(Arrays.copyOfRange(qkv, b * 3 * C, (b + 1) * 3 * C), 1, 1, 3 * C),
                    CpuTensor.ofFloats(k, 1, NH, MAX_T, HS), CpuTensor.ofFloats(v, 1, NH, MAX_T, HS), m,
                    CpuTensor.ofInts(new int[] {at[b]}, 1, 1), NH);
            assertArrayEquals(alone, Arrays.copyOfRange(together, b * C, (b + 1) * C), "sequence " + b + "'s out");
            assertArrayEquals(k, Arrays.copyOfRange(kTogether, b * seqSize, (b + 1) * seqSize), "sequence " + b + "'s keys");
            assertArrayEquals(v, Arrays.copyOfRange(vTogether, b * seqSize, (b + 1) * seqSize), "sequence " + b + "'s values");
        }
    }

    @Test
    void rejectsPositionsPastTheCache() {
        var m = CpuTensor.ofFloats(Reference.causalMask(MAX_T), MAX_T, MAX_T);
        var kCache = CpuTensor.ofFloats(new float[B * NH * 4 * HS], B, NH, 4, HS);
        var vCache = CpuTensor.ofFloats(new float[B * NH * 4 * HS], B, NH, 4, HS);
        var qkv = CpuTensor.ofFloats(new float[B * 2 * 3 * C], B, 2, 3 * C);
        var out = CpuTensor.ofFloats(new float[B * 2 * C], B, 2, C);
        var e = assertThrows(IllegalArgumentException.class,
                () -> OPS.attentionCached(out, qkv, kCache, vCache, m, consecutive(3, 2), NH));
        assertTrue(e.getMessage().contains("position 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OPS.attentionCached(out, qkv, kCache, vCache, m, consecutive(-1, 2), NH));
        assertThrows(IllegalArgumentException.class, () -> OPS.attentionCached(out, qkv, kCache, vCache, m,
                CpuTensor.ofInts(new int[B], B, 1), NH), "positions of another shape");
    }

    /** Positions [pos, pos+n) for every batch row, (B, n). */
    private static CpuTensor consecutive(int pos, int n) {
        int[] p = new int[B * n];
        for (int i = 0; i < p.length; i++) p[i] = pos + i % n;
        return CpuTensor.ofInts(p, B, n);
    }

    /** Positions [pos, pos+n) of every batch row of a (B,T,width) array, as (B,n,width). */
    private static float[] rows(float[] a, int width, int pos, int n) {
        float[] out = new float[B * n * width];
        for (int b = 0; b < B; b++) System.arraycopy(a, (b * T + pos) * width, out, b * n * width, n * width);
        return out;
    }

    private static float[] nans(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }
}
