package io.jgpt.cuda.blas;

import static jcuda.driver.JCudaDriver.cuMemFree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.cuda.blas.CublasLt.Epilogue;
import io.jgpt.cuda.blas.CublasLt.Shape;
import io.jgpt.cuda.blas.CublasLt.Type;
import io.jgpt.tensor.Bf16;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * cuBLASLt's bf16 GEMMs with each epilogue jgpt uses, in the row-major roles of a linear layer
 * (out (N,OC) = in (N,IC) W(OC,IC)^T + b), against double-precision sums of the same bf16 inputs.
 * Bound per element: 2^-8 |want| (one bf16 rounding of a bf16 output) + 1e-3 max |want| (fp32 accumulation
 * and cuBLASLt's GELU against the tanh form); fp32 outputs: 1e-4 max |want|.
 */
@Tag("gpu")
class CublasLtGpuTest {

    private static final int N = 40, IC = 48, OC = 72;
    private static final long WORKSPACE = 32L << 20;
    private static TestDevice gpu;
    private static CUdeviceptr workspace;
    private static CublasLt lt;
    private final List<CUdeviceptr> buffers = new ArrayList<>();

    @BeforeAll
    static void open() {
        gpu = TestDevice.open();
        workspace = gpu.alloc(WORKSPACE);
        lt = new CublasLt(CublasLt.locate(), workspace, WORKSPACE);
    }

    @AfterAll
    static void close() {
        if (lt != null) lt.close();
        if (workspace != null) cuMemFree(workspace);
        if (gpu != null) gpu.close();
    }

    @ParameterizedTest
    @EnumSource(value = Epilogue.class, names = {"NONE", "BIAS", "GELU_AUX_BIAS"})
    void forwardProjection(Epilogue e) {
        Random r = new Random(11);
        float[] x = bf16(r, N * IC), w = bf16(r, OC * IC), b = bf16(r, OC);
        CUdeviceptr dOut = gpu.alloc(2L * N * OC), dAux = gpu.alloc(2L * N * OC);
        buffers.addAll(List.of(dOut, dAux));
        Shape s = new Shape(true, false, OC, N, IC, IC, IC, OC, Type.BF16, Type.BF16, e,
                e == Epilogue.GELU_AUX_BIAS ? OC : 0, null);
        run(s, 1f, up(w), up(x), 0f, dOut, e == Epilogue.NONE ? null : up(b),
                e == Epilogue.GELU_AUX_BIAS ? dAux : null);
        float[] pre = new float[N * OC], want = new float[N * OC];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < OC; o++) {
                double sum = e == Epilogue.NONE ? 0 : b[o];
                for (int i = 0; i < IC; i++) sum += (double) x[n * IC + i] * w[o * IC + i];
                pre[n * OC + o] = (float) sum;
                want[n * OC + o] = (float) (e == Epilogue.GELU_AUX_BIAS ? gelu(sum) : sum);
            }
        }
        assertBf16Close(want, gpu.shorts(dOut, N * OC), e + " out");
        if (e == Epilogue.GELU_AUX_BIAS) assertBf16Close(pre, gpu.shorts(dAux, N * OC), e + " pre-activation");
    }

    /** din (N,IC) = (dout (N,OC) W) * GELU'(pre (N,IC)), and with BGRAD dbias (IC, fp32) = column sums. */
    @ParameterizedTest
    @EnumSource(value = Epilogue.class, names = {"DGELU", "DGELU_BGRAD"})
    void geluBackward(Epilogue e) {
        Random r = new Random(12);
        float[] dout = bf16(r, N * OC), w = bf16(r, OC * IC), pre = bf16(r, N * IC);
        CUdeviceptr dIn = gpu.alloc(2L * N * IC), dBias = gpu.alloc(4L * IC);
        buffers.addAll(List.of(dIn, dBias));
        Shape s = new Shape(false, false, IC, N, OC, IC, OC, IC, Type.BF16, Type.BF16, e, IC,
                e == Epilogue.DGELU_BGRAD ? Type.F32 : null);
        boolean ran = lt.matmul(s, 1f, up(w), up(dout), 0f, dIn, e == Epilogue.DGELU_BGRAD ? dBias : null,
                up(pre), gpu.stream);
        assumeTrue(ran, "cuBLASLt has no algorithm for " + s + " (the backend falls back to cublasGemmEx)");
        float[] want = new float[N * IC];
        double[] bias = new double[IC];
        for (int n = 0; n < N; n++) {
            for (int i = 0; i < IC; i++) {
                double sum = 0;
                for (int o = 0; o < OC; o++) sum += (double) dout[n * OC + o] * w[o * IC + i];
                want[n * IC + i] = (float) (sum * geluGrad(pre[n * IC + i]));
                bias[i] += want[n * IC + i];
            }
        }
        assertBf16Close(want, gpu.shorts(dIn, N * IC), e + " din");
        if (e == Epilogue.DGELU_BGRAD) assertFloatClose(toFloats(bias), gpu.floats(dBias, IC), e + " dbias", 1e-2);
    }

    /** dW (OC,IC) fp32 += dout^T in, and dbias (OC) = column sums of dout. */
    @Test
    void weightGradientWithBiasGradient() {
        Random r = new Random(13);
        float[] x = bf16(r, N * IC), dout = bf16(r, N * OC), dw0 = new float[OC * IC];
        for (int i = 0; i < dw0.length; i++) dw0[i] = (float) r.nextGaussian();
        CUdeviceptr dW = gpu.upload(dw0), dBias = gpu.alloc(4L * OC);
        buffers.addAll(List.of(dW, dBias));
        Shape s = new Shape(false, true, IC, OC, N, IC, OC, IC, Type.BF16, Type.F32, Epilogue.BGRADB, 0, Type.F32);
        run(s, 1f, up(x), up(dout), 1f, dW, dBias, null);
        float[] want = new float[OC * IC], bias = new float[OC];
        for (int o = 0; o < OC; o++) {
            double db = 0;
            for (int n = 0; n < N; n++) db += dout[n * OC + o];
            bias[o] = (float) db;
            for (int i = 0; i < IC; i++) {
                double sum = dw0[o * IC + i];
                for (int n = 0; n < N; n++) sum += (double) dout[n * OC + o] * x[n * IC + i];
                want[o * IC + i] = (float) sum;
            }
        }
        assertFloatClose(want, gpu.floats(dW, OC * IC), "dW", 1e-4);
        assertFloatClose(bias, gpu.floats(dBias, OC), "dbias", 1e-4);
    }

    @Test
    void epilogueOperandsAreChecked() {
        Shape s = new Shape(true, false, OC, N, IC, IC, IC, OC, Type.BF16, Type.BF16, Epilogue.BIAS, 0, null);
        CUdeviceptr d = gpu.alloc(2L * N * OC);
        buffers.add(d);
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> lt.matmul(s, 1f, d, d, 0f, d, null, null, gpu.stream));
        assertTrue(ex.getMessage().contains("bias missing"), ex.getMessage());
    }

    @AfterEach
    void free() {
        gpu.sync(); // nothing queued may still use a buffer
        buffers.forEach(JCudaDriver::cuMemFree);
        buffers.clear();
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private void run(Shape s, float alpha, CUdeviceptr a, CUdeviceptr b, float beta, CUdeviceptr d,
                     CUdeviceptr bias, CUdeviceptr aux) {
        assertTrue(lt.matmul(s, alpha, a, b, beta, d, bias, aux, gpu.stream), "cuBLASLt has no algorithm for " + s);
    }

    /** Random values that are exactly bf16. */
    private static float[] bf16(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = Bf16.round((float) r.nextGaussian());
        return x;
    }

    private CUdeviceptr up(float[] bf16Values) {
        short[] bits = new short[bf16Values.length];
        for (int i = 0; i < bits.length; i++) bits[i] = Bf16.fromFloat(bf16Values[i]);
        CUdeviceptr d = gpu.upload(bits);
        buffers.add(d);
        return d;
    }

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    private static double geluGrad(double x) {
        double c = Math.sqrt(2 / Math.PI), u = c * (x + 0.044715 * x * x * x), t = Math.tanh(u);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x);
    }

    private static void assertBf16Close(float[] want, short[] got, String what) {
        double max = maxAbs(want);
        for (int i = 0; i < want.length; i++) {
            double g = Bf16.toFloat(got[i]);
            assertEquals(want[i], g, Math.abs(want[i]) / 256 + 1e-3 * max, what + " at " + i);
        }
    }

    private static void assertFloatClose(float[] want, float[] got, String what, double rel) {
        double max = maxAbs(want);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], rel * max, what + " at " + i);
    }

    private static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static float[] toFloats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
        return f;
    }
}
