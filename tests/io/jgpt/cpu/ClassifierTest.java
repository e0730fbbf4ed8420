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

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ops.classifier (the output head and the loss over chunks of rows) against the unchunked composition
 * linearForward + crossEntropy + linearBackward on the whole batch. Each row's logits, loss and input gradient are
 * sums in the same order whatever the chunk, so they match bit for bit, in fp32 and in the bf16-storage mode; the
 * head's weight gradient adds the chunks' partial sums in turn instead of one sum over all rows, so it matches
 * within 1e-6 of its largest element (fp32 rounding of a few additions). Gradients against central differences.
 */
class ClassifierTest {

    private static final CpuOps OPS = new CpuOps(2);
    private static final Bf16Storage BF16 = new Bf16Storage(new CpuOps(2));
    private static final int N = 13, C = 12, V = 41;

    @AfterAll
    static void close() {
        OPS.close();
        BF16.close();
    }

    /** Chunks of 5 rows (5, 5, 3: one ragged), of 1 row, and one chunk holding everything. */
    @ParameterizedTest
    @ValueSource(ints = {5, 1, N, N + 4})
    void chunkedEqualsTheWholeBatch(int chunk) {
        for (Ops ops : new Ops[] {OPS, BF16}) {
            Random r = new Random(chunk);
            float[] x = randn(r, N * C, 1), w = randn(r, V * C, 0.5);
            if (ops == BF16) Bf16.round(x);
            int[] targets = targets(r);
            float[][] chunked = classifier(ops, x, w, targets, chunk);
            float[][] whole = composition(ops, x, w, targets);
            String mode = (ops == BF16 ? "bf16 storage" : "fp32") + ", chunks of " + chunk;
            assertArrayEquals(whole[0], chunked[0], mode + ": losses");
            assertArrayEquals(whole[1], chunked[1], mode + ": dx");
            assertClose(whole[2], chunked[2], 1e-6, mode + ": dweight");
            float[] noGrad = lossesOnly(ops, x, w, targets, chunk);
            assertArrayEquals(whole[0], noGrad, mode + ": losses without gradients");
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random r = new Random(5);
        float[] x = randn(r, N * C, 1), w = randn(r, V * C, 0.5);
        int[] targets = targets(r);
        float scale = 1f / 11; // the mean over the 11 counted rows
        float[][] got = classifier(OPS, x, w, targets, 4, scale);
        double[] xd = toDouble(x), wd = toDouble(w);
        assertForward("losses", got[0], Reference.crossEntropy(Reference.linear(xd, wd, null, N, C, V), targets, V));
        float[] weights = new float[N];
        Arrays.fill(weights, scale);
        assertGradient("dx", got[1], gradient(v -> Reference.crossEntropy(Reference.linear(v, wd, null, N, C, V),
                targets, V), xd, weights));
        assertGradient("dweight", got[2], gradient(v -> Reference.crossEntropy(Reference.linear(xd, v, null, N, C, V),
                targets, V), wd, weights));
        for (int i = 0; i < C; i++) assertEquals(0f, got[1][3 * C + i], "an ignored row has no input gradient");
    }

    @Test
    void argumentsAreChecked() {
        Tensor x = OPS.zeros(DType.F32, N, C), w = OPS.zeros(DType.F32, V, C), losses = OPS.zeros(DType.F32, N);
        Tensor targets = OPS.upload(new int[N], N);
        var e = assertThrows(IllegalArgumentException.class, () -> OPS.classifier(losses, x, null, x, w, targets, 1f,
                OPS.zeros(DType.F32, 4, V)));
        assertTrue(e.getMessage().contains("dx and dweight"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.classifier(losses, null, null, x, w, targets, 1f,
                OPS.zeros(DType.F32, 4, V + 1)));
        assertTrue(e.getMessage().contains("classifier: logits"), e.getMessage());
        int[] bad = new int[N];
        bad[7] = V;
        e = assertThrows(IllegalArgumentException.class, () -> OPS.classifier(losses, null, null, x, w,
                OPS.upload(bad, N), 1f, OPS.zeros(DType.F32, 5, V)));
        assertTrue(e.getMessage().contains("target token id " + V + " at position 7"), e.getMessage());
    }

    /** Random targets, two of them ignored (-100), row 3 among them. */
    private static int[] targets(Random r) {
        int[] t = new int[N];
        for (int i = 0; i < N; i++) t[i] = r.nextInt(V);
        t[3] = -100;
        t[N - 1] = -100;
        return t;
    }

    private static float[][] classifier(Ops ops, float[] x, float[] w, int[] targets, int chunk) {
        return classifier(ops, x, w, targets, chunk, 0.25f);
    }

    /** {losses, dx, dweight} from Ops.classifier with chunks of {@code chunk} rows. */
    private static float[][] classifier(Ops ops, float[] x, float[] w, int[] targets, int chunk, float scale) {
        Tensor losses = ops.zeros(DType.F32, 1, N), dx = ops.zeros(DType.F32, 1, N, C), dw = ops.zeros(DType.F32, V, C);
        ops.classifier(losses, dx, dw, ops.upload(DType.F32, x, 1, N, C), ops.upload(DType.F32, w, V, C),
                ops.upload(targets, 1, N), scale, ops.zeros(DType.F32, chunk, V));
        return new float[][] {ops.download(losses), ops.download(dx), ops.download(dw)};
    }

    private static float[] lossesOnly(Ops ops, float[] x, float[] w, int[] targets, int chunk) {
        Tensor losses = ops.zeros(DType.F32, N);
        ops.classifier(losses, null, null, ops.upload(DType.F32, x, N, C), ops.upload(DType.F32, w, V, C),
                ops.upload(targets, N), 0f, ops.zeros(DType.F32, chunk, V));
        return ops.download(losses);
    }

    /** {losses, dx, dweight} from the three ops on the whole batch. */
    private static float[][] composition(Ops ops, float[] x, float[] w, int[] targets) {
        Tensor tx = ops.upload(DType.F32, x, N, C), tw = ops.upload(DType.F32, w, V, C);
        Tensor logits = ops.zeros(DType.F32, N, V), losses = ops.zeros(DType.F32, N);
        Tensor dx = ops.zeros(DType.F32, N, C), dw = ops.zeros(DType.F32, V, C);
        ops.linearForward(logits, tx, tw, null);
        ops.crossEntropy(losses, logits, logits, ops.upload(targets, N), 0.25f);
        ops.linearBackward(dx, dw, null, logits, tx, tw);
        return new float[][] {ops.download(losses), ops.download(dx), ops.download(dw)};
    }

    private static void assertClose(float[] want, float[] got, double rel, String what) {
        double max = 0;
        for (float v : want) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], rel * max, what + " at " + i);
    }
}
