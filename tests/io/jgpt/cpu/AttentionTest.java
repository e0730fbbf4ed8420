package io.jgpt.cpu;

import static io.jgpt.cpu.Fd.assertForward;
import static io.jgpt.cpu.Fd.assertGradient;
import static io.jgpt.cpu.Fd.backwardTwice;
import static io.jgpt.cpu.Fd.gradient;
import static io.jgpt.cpu.Fd.randn;
import static io.jgpt.cpu.Fd.toDouble;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.ops.Dropout;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Attention forward (output and saved probabilities) against the double reference, backward against central
 * differences, with dropout off and on (the same Dropout object in every evaluation, so the mask is fixed).
 */
class AttentionTest {

    private static final CpuOps OPS = new CpuOps(2);

    @AfterAll
    static void close() {
        OPS.close();
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 0.25f})
    void forwardAndBackward(float p) {
        var r = new Random(p == 0f ? 21 : 22);
        // hs = 19 is not a multiple of the vector width; maxT > T checks the mask's row stride.
        int b = 2, t = 5, nh = 2, hs = 19, c = nh * hs, maxT = t + 2;
        var d = Dropout.of(p, 1234, 5);
        float[] mask = Reference.causalMask(maxT);
        float[] qkv = randn(r, b * t * 3 * c, 1), out = new float[b * t * c], att = new float[b * nh * t * t];
        var m = CpuTensor.ofFloats(mask, maxT, maxT);
        OPS.attentionForward(CpuTensor.ofFloats(out, b, t, c), CpuTensor.ofFloats(att, b, nh, t, t),
                CpuTensor.ofFloats(qkv, b, t, 3 * c), m, nh, d);
        double[] qkvD = toDouble(qkv);
        var ref = Reference.attention(qkvD, mask, maxT, b, t, c, nh, d);
        assertForward("attention out", out, ref.out());
        assertForward("attention probabilities", att, ref.probs());

        float[] dout = randn(r, out.length, 1), dqkv = new float[qkv.length];
        var g = backwardTwice(() -> OPS.attentionBackward(CpuTensor.ofFloats(dqkv, b, t, 3 * c),
                CpuTensor.ofFloats(dout, b, t, c), CpuTensor.ofFloats(qkv, b, t, 3 * c),
                CpuTensor.ofFloats(att, b, nh, t, t), m, nh, d), dqkv);
        assertGradient("dqkv", g[0],
                gradient(x -> Reference.attention(x, mask, maxT, b, t, c, nh, d).out(), qkvD, dout));
    }

    /**
     * The kernel itself with 2-row blocks, so a short sequence crosses block boundaries; the mask also hides
     * all of row 0 and the diagonal of row 4, so block horizons are not simply the block's last row.
     */
    @ParameterizedTest
    @ValueSource(floats = {0f, 0.25f})
    void blocksMatchReference(float p) {
        var r = new Random(p == 0f ? 24 : 25);
        int b = 2, t = 7, nh = 2, hs = 5, c = nh * hs;
        var d = Dropout.of(p, 99, 7);
        float[] mask = Reference.causalMask(t);
        mask[0] = 1f;
        mask[4 * t + 4] = 1f;
        var dims = new Attention.Dims(b, t, c, nh, t);
        float[] qkv = randn(r, b * t * 3 * c, 1), out = new float[b * t * c], att = new float[b * nh * t * t];
        try (var parallel = new Parallel(2)) {
            var attention = new Attention(parallel, 2);
            attention.forward(out, att, qkv, mask, dims, d);
            double[] qkvD = toDouble(qkv);
            var ref = Reference.attention(qkvD, mask, t, b, t, c, nh, d);
            assertForward("attention out", out, ref.out());
            assertForward("attention probabilities", att, ref.probs());
            float[] dout = randn(r, out.length, 1), dqkv = new float[qkv.length];
            var g = backwardTwice(() -> attention.backward(dqkv, dout, qkv, att, mask, dims, d), dqkv);
            assertGradient("dqkv", g[0], gradient(x -> Reference.attention(x, mask, t, b, t, c, nh, d).out(), qkvD, dout));
        }
    }

    @Test
    void maskedWeightsAreExactlyZeroAndRowsSumToOne() {
        var r = new Random(23);
        int b = 1, t = 9, nh = 3, c = 12;
        float[] mask = Reference.causalMask(t);
        mask[5 * t + 2] = 1f; // an extra, non-causal masked position must be honoured too
        float[] att = new float[b * nh * t * t];
        OPS.attentionForward(OPS.zeros(DType.F32, b, t, c), CpuTensor.ofFloats(att, b, nh, t, t),
                CpuTensor.ofFloats(randn(r, b * t * 3 * c, 3), b, t, 3 * c), CpuTensor.ofFloats(mask, t, t), nh,
                Dropout.NONE);
        for (int row = 0; row < b * nh * t; row++) {
            int i = row % t;
            double sum = 0;
            for (int j = 0; j < t; j++) {
                float pr = att[row * t + j];
                if (mask[i * t + j] != 0) assertEquals(0f, pr, "masked weight (" + i + ", " + j + ")");
                sum += pr;
            }
            assertEquals(1.0, sum, 1e-6, "row " + row + " sums to 1");
        }
    }
}
