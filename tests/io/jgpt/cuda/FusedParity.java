package io.jgpt.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.cpu.Bf16Storage;
import io.jgpt.cpu.CpuOps;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;

/**
 * What the fused ops' GPU parity tests share: the GPU and, per storage type, the CPU it is compared with (the
 * bf16-storage mode for BF16, CpuOps for F32), inputs both sides read alike, and the element-wise bound.
 */
final class FusedParity implements AutoCloseable {

    final Ops cpu32, cpu16;
    final CudaOps gpu;

    private FusedParity() {
        cpu32 = new CpuOps(2);
        cpu16 = new Bf16Storage(new CpuOps(2));
        gpu = new CudaOps(0, "auto", false);
    }

    /** The backends, or the test skipped with the reason when there is no GPU. */
    static FusedParity open(String what) {
        CudaDevice.Probe probe = CudaOps.available();
        assumeTrue(probe.available(), what + " skipped: " + probe.message());
        return new FusedParity();
    }

    /** The CPU that predicts the GPU in this storage type. */
    Ops cpu(DType storage) {
        return storage == DType.BF16 ? cpu16 : cpu32;
    }

    @Override
    public void close() {
        gpu.close();
        cpu32.close();
        cpu16.close();
    }

    /** Gaussian values of this scale, rounded to bf16 when the test runs in bf16 (both sides read the same). */
    static float[] values(Random r, int n, double scale, boolean bf16) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        if (bf16) Bf16.round(v);
        return v;
    }

    /** |gpu - cpu| <= ulp |cpu| + rel max |cpu|, element by element. */
    static void assertClose(String what, float[] want, float[] got, double ulp, double rel) {
        double max = 0;
        for (float v : want) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < want.length; i++) {
            double bound = ulp * Math.abs(want[i]) + rel * max;
            if (!(Math.abs(want[i] - got[i]) <= bound))
                throw new AssertionError(what + " at " + i + ": cpu " + want[i] + ", gpu " + got[i] + " (bound " + bound + ")");
        }
    }
}
