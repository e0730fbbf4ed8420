package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.cpu.Bf16Storage;
import io.jgpt.cpu.CpuOps;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The GPU's bf16 linear layer (cuBLASLt with the BIAS and BGRADB epilogues, {@link Bf16Linear}) against the
 * CPU's bf16-storage mode on the same bf16 values. Both sum in fp32 in different orders and round once, so a
 * bf16 output may differ by one bf16 ulp where the sums straddle a rounding boundary: bound 2^-7 |cpu| +
 * 1e-4 max |cpu|. fp32 weight and bias gradients: 1e-4 max |cpu| (as CudaParityTest's reductions). Shapes
 * are multiples of 8 (cuBLASLt's bf16 alignment) and one that is not, which may take the cublasGemmEx path.
 */
@Tag("gpu")
class Bf16LinearParityTest {

    private static final int N = 40, IC = 48;
    private static Ops cpu;
    private static CudaOps gpu;

    @BeforeAll
    static void open() {
        CudaDevice.Probe probe = CudaOps.available();
        assumeTrue(probe.available(), "bf16 linear parity skipped: " + probe.message());
        cpu = new Bf16Storage(new CpuOps(2));
        gpu = new CudaOps(0, "auto", false);
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {72, 37})
    void forwardAndBackwardMatchTheCpuBf16Mode(int oc) {
        Random r = new Random(oc);
        float[] x = bf16(r, N * IC), w = bf16(r, oc * IC), b = bf16(r, oc), dy = bf16(r, N * oc);
        float[] dx0 = bf16(r, N * IC), dw0 = random(r, oc * IC), db0 = random(r, oc);

        Tensor out = cpu.zeros(DType.F32, N, oc);
        cpu.linearForward(out, up(cpu, x, N, IC), up(cpu, w, oc, IC), up(cpu, b, oc));
        Tensor gOut = gpu.zeros(DType.BF16, N, oc);
        gpu.linearForward(gOut, bf16(x, N, IC), bf16(w, oc, IC), bf16(b, oc));
        assertBf16Close(cpu.download(out), gpu.download(gOut), "out (OC " + oc + ")");

        Tensor dx = up(cpu, dx0, N, IC), dw = up(cpu, dw0, oc, IC), db = up(cpu, db0, oc);
        cpu.linearBackward(dx, dw, db, up(cpu, dy, N, oc), up(cpu, x, N, IC), up(cpu, w, oc, IC));
        Tensor gdx = bf16(dx0, N, IC), gdw = gpu.upload(DType.F32, dw0, oc, IC), gdb = gpu.upload(DType.F32, db0, oc);
        gpu.linearBackward(gdx, gdw, gdb, bf16(dy, N, oc), bf16(x, N, IC), bf16(w, oc, IC));
        assertBf16Close(cpu.download(dx), gpu.download(gdx), "din (OC " + oc + ")");
        assertClose(cpu.download(dw), gpu.download(gdw), "dweight (OC " + oc + ")");
        assertClose(cpu.download(db), gpu.download(gdb), "dbias (OC " + oc + ")");
    }

    private static Tensor up(Ops ops, float[] x, int... shape) {
        return ops.upload(DType.F32, x, shape);
    }

    /** A GPU BF16 tensor of these (bf16-exact) values. */
    private static Tensor bf16(float[] x, int... shape) {
        return gpu.upload(DType.BF16, x, shape);
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    private static float[] bf16(Random r, int n) {
        float[] x = random(r, n);
        Bf16.round(x);
        return x;
    }

    private static void assertBf16Close(float[] want, float[] got, String what) {
        double max = maxAbs(want);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], Math.abs(want[i]) * 0x1p-7 + 1e-4 * max, what + " at " + i);
        }
    }

    private static void assertClose(float[] want, float[] got, String what) {
        double max = maxAbs(want);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4 * max, what + " at " + i);
    }

    private static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }
}
