package io.jgpt.cpu;

import static io.jgpt.cpu.Fd.assertForward;
import static io.jgpt.cpu.Fd.assertGradient;
import static io.jgpt.cpu.Fd.gradient;
import static io.jgpt.cpu.Fd.randn;
import static io.jgpt.cpu.Fd.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Fused cross-entropy: losses vs the double reference, dlogits vs central differences of dlossScale * sum(loss). */
class CrossEntropyTest {

    private static final CpuOps OPS = new CpuOps(2);

    @AfterAll
    static void close() {
        OPS.close();
    }

    @Test
    void lossesAndGradientWithIgnoredTargets() {
        var r = new Random(31);
        int n = 7, v = 53;
        int[] targets = new int[n];
        for (int i = 0; i < n; i++) targets[i] = r.nextInt(v);
        targets[2] = -100;
        targets[5] = -100;
        float scale = 1f / 5; // mean over the 5 counted rows
        float[] logits = randn(r, n * v, 3), losses = new float[n], dlogits = new float[n * v];
        var tg = CpuTensor.ofInts(targets, n);
        OPS.crossEntropy(CpuTensor.ofFloats(losses, n), CpuTensor.ofFloats(dlogits, n, v),
                CpuTensor.ofFloats(logits, n, v), tg, scale);
        double[] x = toDouble(logits);
        assertForward("losses", losses, Reference.crossEntropy(x, targets, v));
        float[] weights = new float[n];
        Arrays.fill(weights, scale);
        assertGradient("dlogits", dlogits, gradient(l -> Reference.crossEntropy(l, targets, v), x, weights));
        for (int i = 0; i < v; i++) assertEquals(0f, dlogits[2 * v + i], "ignored row has zero gradient");

        // dlogits may be the logits tensor itself.
        var inPlace = CpuTensor.ofFloats(logits.clone(), n, v);
        OPS.crossEntropy(CpuTensor.ofFloats(new float[n], n), inPlace, inPlace, tg, scale);
        // Same arithmetic, but Math.exp may differ by an ulp between the interpreter and JIT-compiled code.
        for (int i = 0; i < dlogits.length; i++) assertEquals(dlogits[i], inPlace.data()[i], 1e-6 * Math.abs(dlogits[i]) + 1e-12);
    }

    @Test
    void uniformLogitsGiveLogV() {
        int n = 3, v = 50257;
        float[] losses = new float[n];
        OPS.crossEntropy(CpuTensor.ofFloats(losses, n), null, OPS.zeros(DType.F32, n, v), CpuTensor.ofInts(new int[] {0, 17, v - 1}, n), 1f);
        for (float l : losses) assertEquals(Math.log(v), l, 1e-5);
    }

    @Test
    void targetOutOfRangeNamesTokenAndPosition() {
        var e = assertThrows(IllegalArgumentException.class, () -> OPS.crossEntropy(OPS.zeros(DType.F32, 3), null,
                OPS.zeros(DType.F32, 3, 10), CpuTensor.ofInts(new int[] {1, -100, 10}, 3), 1f));
        assertTrue(e.getMessage().contains("10") && e.getMessage().contains("position 2"), e.getMessage());
    }
}
