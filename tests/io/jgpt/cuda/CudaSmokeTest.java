package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.cuda.blas.Blas;
import io.jgpt.ops.Dropout;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Collectors;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * GPU checks that need neither cuBLAS nor the CPU backend: context, module and launch plumbing, bit-exact
 * dropout masks, device-side index errors, argument validation and profiler spans.
 */
@Tag("gpu")
class CudaSmokeTest {

    private static CudaOps gpu;

    /** Stands in for cuBLAS: these tests never multiply matrices. */
    private static final class NoBlas implements Blas {
        public String name() { return "none"; }
        public void setStream(CUstream stream) {}
        public void setTf32(boolean enabled) {}
        public void sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, Pointer a, int lda, Pointer b,
                          int ldb, float beta, Pointer c, int ldc) {
            throw new UnsupportedOperationException("no cuBLAS in this test");
        }
        public void gemmBf16(boolean ta, boolean tb, int m, int n, int k, float alpha, Pointer a, int lda, Pointer b,
                             int ldb, float beta, Pointer c, int ldc, boolean cBf16) {
            throw new UnsupportedOperationException("no cuBLAS in this test");
        }
        public void close() {}
    }

    @BeforeAll
    static void setUp() {
        CudaDevice.Probe probe = CudaOps.available();
        assumeTrue(probe.available(), "CUDA smoke tests skipped: " + probe.message());
        gpu = new CudaOps(0, NoBlas::new, false);
    }

    @AfterAll
    static void tearDown() {
        if (gpu != null) gpu.close();
    }

    @Test
    void dropoutMasksMatchTheJavaGeneratorBitForBit() {
        int n = 10_007;
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        Dropout d = Dropout.of(0.25f, 1234, 56);
        Tensor in = gpu.upload(DType.F32, ones, n), out = f32(n);
        gpu.dropoutForward(out, in, d);
        float[] got = gpu.download(out);
        int dropped = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(d.keep(i) ? d.scale() : 0f, got[i], "element " + i);
            if (got[i] == 0f) dropped++;
        }
        assertTrue(dropped > n / 5 && dropped < n / 3, "dropped " + dropped + " of " + n);
    }

    @Test
    void embeddingAndLayerNormMatchDirectComputation() {
        int B = 2, T = 5, C = 37, V = 11;
        Random r = new Random(1);
        float[] wte = rand(r, V * C), wpe = rand(r, 8 * C), w = rand(r, C), b = rand(r, C);
        int[] tokens = new int[B * T];
        for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(V);
        Tensor out = f32(B, T, C);
        gpu.embeddingForward(out, gpu.upload(tokens, B, T), gpu.upload(DType.F32, wte, V, C), gpu.upload(DType.F32, wpe, 8, C));
        float[] x = gpu.download(out);
        for (int i = 0; i < B * T; i++)
            for (int c = 0; c < C; c++)
                assertEquals(wte[tokens[i] * C + c] + wpe[(i % T) * C + c], x[i * C + c], "embedding " + i);

        Tensor y = f32(B, T, C), mean = f32(B * T), rstd = f32(B * T);
        gpu.layerNormForward(y, mean, rstd, out, gpu.upload(DType.F32, w, C), gpu.upload(DType.F32, b, C));
        float[] got = gpu.download(y);
        for (int i = 0; i < B * T; i++) {
            double m = 0, v = 0;
            for (int c = 0; c < C; c++) m += x[i * C + c];
            m /= C;
            for (int c = 0; c < C; c++) v += (x[i * C + c] - m) * (x[i * C + c] - m);
            double s = 1 / Math.sqrt(v / C + 1e-5);
            for (int c = 0; c < C; c++)
                assertEquals((x[i * C + c] - m) * s * w[c] + b[c], got[i * C + c], 1e-4, "layernorm " + i);
        }
    }

    @Test
    void crossEntropyMatchesAndRejectsBadTargets() {
        int N = 6, V = 101;
        Random r = new Random(2);
        float[] logits = rand(r, N * V);
        int[] targets = {3, -100, 100, 0, 57, -100};
        Tensor losses = f32(N), lg = gpu.upload(DType.F32, logits, N, V), tg = gpu.upload(targets, N);
        gpu.crossEntropy(losses, null, lg, tg, 1f);
        float[] got = gpu.download(losses);
        for (int i = 0; i < N; i++) {
            double expected = 0;
            if (targets[i] != -100) {
                double sum = 0;
                for (int v = 0; v < V; v++) sum += Math.exp(logits[i * V + v]);
                expected = Math.log(sum) - logits[i * V + targets[i]];
            }
            assertEquals(expected, got[i], 1e-4, "loss " + i);
        }
        gpu.write(tg, new int[] {3, -100, 101, 0, 57, -100});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gpu.crossEntropy(losses, null, lg, tg, 1f));
        assertTrue(e.getMessage().contains("101") && e.getMessage().contains("position 2"), e.getMessage());
        gpu.write(tg, targets);
        gpu.crossEntropy(losses, null, lg, tg, 1f); // the error record was cleared
    }

    @Test
    void sumOfSquaresMatchesDouble() {
        Random r = new Random(3);
        float[] a = rand(r, 300_001);
        double expected = 0;
        for (float v : a) expected += (double) v * v;
        assertEquals(expected, gpu.sumOfSquares(gpu.upload(DType.F32, a, a.length)), 1e-9 * expected);
    }

    @Test
    void shapeMismatchesThrow() {
        Tensor a = f32(4, 5), b = f32(4, 6);
        assertThrows(IllegalArgumentException.class, () -> gpu.add(a, a, b));
        assertThrows(IllegalArgumentException.class, () -> gpu.layerNormForward(a, f32(4), f32(4), a,
                f32(6), f32(5)));
        assertThrows(IllegalArgumentException.class, () -> gpu.linearForward(f32(4, 3), a, f32(3, 6),
                null));
        assertThrows(IllegalArgumentException.class, () -> gpu.crossEntropy(f32(4), null, a, a, 1f));
        assertThrows(IllegalArgumentException.class, () -> gpu.write(a, new float[7]));
    }

    @Test
    void tensorsAreSizedZeroedAndCopiedByTheirElementType() {
        int n = 1001; // odd: a 2-byte tensor's end is not 4-byte aligned
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = Bf16.toFloat((short) (0x3f80 + i)); // bf16 values from 1.0 up
        Tensor src = gpu.upload(DType.BF16, values, n), dst = gpu.zeros(DType.BF16, n);
        assertEquals(2L * n, src.bytes());
        gpu.copy(dst, src);
        assertArrayEquals(values, gpu.download(dst));
        gpu.zero(dst);
        assertArrayEquals(new float[n], gpu.download(dst));
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.copy(f32(n), src));
        assertTrue(e.getMessage().contains("BF16"), e.getMessage());
    }

    @Test
    void profilerRecordsKernelSpans() {
        Profiler profiler = new Profiler(gpu.clock());
        gpu.setProfiler(profiler);
        try {
            Tensor x = gpu.upload(DType.F32, rand(new Random(4), 4096), 4096), y = f32(4096);
            gpu.geluForward(y, x);
            gpu.add(y, y, x);
            gpu.add(y, y, x);
            profiler.flush();
        } finally {
            gpu.setProfiler(Profiler.OFF);
        }
        Map<String, Profiler.Stat> stats =
                profiler.stats().stream().collect(Collectors.toMap(s -> s.name, Function.identity()));
        assertEquals(1, stats.get("gelu_forward_f32").calls);
        assertEquals(2, stats.get("residual_add_f32").calls);
        assertEquals(3 * 4096 * 4 * 2, (long) stats.get("residual_add_f32").bytes);
        assertTrue(stats.get("gelu_forward_f32").totalMicros >= 0);
        assertEquals(3, profiler.events().size());
    }

    private static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() * 2 - 1;
        return a;
    }

    /** A zero-filled F32 tensor. */
    private static Tensor f32(int... shape) {
        return gpu.zeros(DType.F32, shape);
    }
}
