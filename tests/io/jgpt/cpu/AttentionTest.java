package io.jgpt.cpu;

import static io.jgpt.cpu.Fd.assertForward;
import static io.jgpt.cpu.Fd.assertGradient;
import static io.jgpt.cpu.Fd.backwardTwice;
import static io.jgpt.cpu.Fd.gradient;
import static io.jgpt.cpu.Fd.randn;
import static io.jgpt.cpu.Fd.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.ops.Dropout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Attention forward (output and saved log-sum-exp) against the double reference, backward (which recomputes the
 * probabilities from q, k and the log-sum-exp) against central differences of the reference's output, with
 * dropout off and on (the same Dropout object in every evaluation, so the mask is fixed).
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
        // hs = 19 is not a multiple of the vector width.
        int b = 2, t = 5, nh = 2, hs = 19, c = nh * hs;
        var d = Dropout.of(p, 1234, 5);
        float[] qkv = randn(r, b * t * 3 * c, 1), out = new float[b * t * c], lse = new float[b * nh * t];
        OPS.attentionForward(CpuTensor.ofFloats(out, b, t, c), CpuTensor.ofFloats(lse, b, nh, t),
                CpuTensor.ofFloats(qkv, b, t, 3 * c), nh, d);
        double[] qkvD = toDouble(qkv);
        var ref = Reference.attention(qkvD, b, t, c, nh, d);
        assertForward("attention out", out, ref.out());
        assertForward("attention log-sum-exp", lse, ref.lse());

        float[] dout = randn(r, out.length, 1), dqkv = new float[qkv.length];
        var g = backwardTwice(() -> OPS.attentionBackward(CpuTensor.ofFloats(dqkv, b, t, 3 * c),
                CpuTensor.ofFloats(dout, b, t, c), CpuTensor.ofFloats(qkv, b, t, 3 * c),
                CpuTensor.ofFloats(out, b, t, c), CpuTensor.ofFloats(lse, b, nh, t), nh, d), dqkv);
        assertGradient("dqkv", g[0], gradient(x -> Reference.attention(x, b, t, c, nh, d).out(), qkvD, dout));
    }

    /**
     * The kernel itself with 2-row blocks, so a short sequence crosses block boundaries forward and backward, and the
     * backward's key-side chunks (KEY_SIDE_BLOCKS blocks) too.
     */
    @ParameterizedTest
    @ValueSource(floats = {0f, 0.25f})
    void blocksMatchReference(float p) {
        var r = new Random(p == 0f ? 24 : 25);
        int b = 2, t = 2 * Attention.KEY_SIDE_BLOCKS + 3, nh = 2, hs = 5, c = nh * hs;
        var d = Dropout.of(p, 99, 7);
        var dims = new Attention.Dims(b, t, c, nh);
        float[] qkv = randn(r, b * t * 3 * c, 1), out = new float[b * t * c], lse = new float[b * nh * t];
        try (var parallel = new Parallel(2)) {
            var attention = new Attention(parallel, 2);
            attention.forward(out, lse, qkv, dims, d);
            double[] qkvD = toDouble(qkv);
            var ref = Reference.attention(qkvD, b, t, c, nh, d);
            assertForward("attention out", out, ref.out());
            assertForward("attention log-sum-exp", lse, ref.lse());
            float[] dout = randn(r, out.length, 1), dqkv = new float[qkv.length];
            var g = backwardTwice(() -> attention.backward(dqkv, dout, qkv, out, lse, dims, d), dqkv);
            assertGradient("dqkv", g[0], gradient(x -> Reference.attention(x, b, t, c, nh, d).out(), qkvD, dout));
        }
    }

    /** Long enough for several default row blocks; the forward only (the backward's blocks are tested above). */
    @Test
    void longSequenceMatchesReference() {
        var r = new Random(26);
        int b = 1, t = 3 * Attention.ROWS + 5, nh = 2, hs = 16, c = nh * hs;
        var d = Dropout.of(0.1f, 3, 4);
        float[] qkv = randn(r, b * t * 3 * c, 1), out = new float[b * t * c], lse = new float[b * nh * t];
        OPS.attentionForward(CpuTensor.ofFloats(out, b, t, c), CpuTensor.ofFloats(lse, b, nh, t),
                CpuTensor.ofFloats(qkv, b, t, 3 * c), nh, d);
        var ref = Reference.attention(toDouble(qkv), b, t, c, nh, d);
        assertForward("attention out", out, ref.out());
        assertForward("attention log-sum-exp", lse, ref.lse());
    }

    /**
     * Causality, exactly: changing the queries, keys and values of positions after t leaves every output and
     * log-sum-exp up to t bit-identical (later keys get probability exactly 0, not merely a small one).
     */
    @Test
    void laterPositionsChangeNothingBefore() {
        var r = new Random(23);
        int b = 1, t = 9, nh = 3, c = 12, cut = 4;
        float[] qkv = randn(r, b * t * 3 * c, 3), changed = qkv.clone();
        for (int i = (cut + 1) * 3 * c; i < changed.length; i++) changed[i] += 1f + r.nextFloat();
        float[][] outs = new float[2][b * t * c], lses = new float[2][b * nh * t];
        float[][] inputs = {qkv, changed};
        for (int k = 0; k < 2; k++) {
            OPS.attentionForward(CpuTensor.ofFloats(outs[k], b, t, c), CpuTensor.ofFloats(lses[k], b, nh, t),
                    CpuTensor.ofFloats(inputs[k], b, t, 3 * c), nh, Dropout.NONE);
        }
        assertArrayEquals(Arrays.copyOf(outs[0], (cut + 1) * c), Arrays.copyOf(outs[1], (cut + 1) * c), 0f);
        for (int h = 0; h < nh; h++) {
            for (int i = 0; i <= cut; i++) assertEquals(lses[0][h * t + i], lses[1][h * t + i], 0f, "lse h" + h + " t" + i);
        }
        // Position 0 sees only itself: its output is its own value vector, its lse its own scaled score.
        for (int e = 0; e < c; e++) assertEquals(qkv[2 * c + e], outs[0][e], 1e-6f, "out[0] = v[0]");
    }
}
