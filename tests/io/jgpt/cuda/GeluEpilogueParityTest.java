package io.jgpt.cuda;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The MLP's fused pair on the GPU, Ops.linearGeluForward (bf16: cuBLASLt GELU_AUX_BIAS) and
 * Ops.linearBackwardThroughGelu (bf16: DGELU_BGRAD), against the CPU on the same inputs: bf16 against the
 * bf16-storage mode, fp32 against CpuOps. Hidden width 72 (a multiple of 8, cuBLASLt's bf16 alignment) and 37 (not,
 * which may take the cublasGemmEx + kernel path).
 * Bounds, |gpu - cpu| <= ulp |cpu| + rel max |cpu|: bf16 outputs ulp = 2^-6, two bf16 ulps, because the fallback
 * path rounds the product before GELU or GELU' (the epilogues round once, within one ulp), rel = 1e-4 for the GEMM's
 * other summation order; the fp32 bias gradient rel = 1e-2, as cuBLASLt may sum the bf16-rounded gradient (each
 * term within 2^-8); fp32 on both sides ulp 0, rel 1e-5 (1e-4 for the bias sums), as CudaParityTest.
 */
@Tag("gpu")
class GeluEpilogueParityTest {

    private static final int N = 40, IC = 48;
    private static FusedParity backends;
    private static CudaOps gpu;

    @BeforeAll
    static void open() {
        backends = FusedParity.open("GELU epilogue parity");
        gpu = backends.gpu;
    }

    @AfterAll
    static void close() {
        if (backends != null) backends.close();
    }

    @ParameterizedTest
    @CsvSource({"BF16, 72", "BF16, 37", "F32, 72", "F32, 37"})
    void forwardAndBackwardMatchTheCpu(DType storage, int h) {
        boolean bf16 = storage == DType.BF16;
        Ops cpu = backends.cpu(storage);
        Random r = new Random(h + (bf16 ? 0 : 1000));
        float[] x = FusedParity.values(r, N * IC, 1, bf16), w = FusedParity.values(r, h * IC, 0.3, bf16), b = FusedParity.values(r, h, 0.3, bf16);
        float[] w2 = FusedParity.values(r, IC * h, 0.3, bf16), dout = FusedParity.values(r, N * IC, 1, bf16), db0 = FusedParity.values(r, h, 1, false);

        Tensor cOut = cpu.zeros(DType.F32, N, h), cPre = cpu.zeros(DType.F32, N, h);
        cpu.linearGeluForward(cOut, cPre, cpu.upload(DType.F32, x, N, IC), cpu.upload(DType.F32, w, h, IC),
                cpu.upload(DType.F32, b, h));
        Tensor gOut = gpu.zeros(storage, N, h), gPre = gpu.zeros(storage, N, h);
        gpu.linearGeluForward(gOut, gPre, gpu.upload(storage, x, N, IC), gpu.upload(storage, w, h, IC),
                gpu.upload(storage, b, h));
        double ulp = bf16 ? 0x1p-6 : 0, rel = bf16 ? 1e-4 : 1e-5;
        FusedParity.assertClose(storage + " preact (h " + h + ")", cpu.download(cPre), gpu.download(gPre), ulp, rel);
        FusedParity.assertClose(storage + " out (h " + h + ")", cpu.download(cOut), gpu.download(gOut), ulp, rel);

        // Both sides continue from the CPU's pre-activation, so the backward is compared on equal inputs.
        float[] pre = cpu.download(cPre);
        Tensor cd = cpu.zeros(DType.F32, N, h), cdb = cpu.upload(DType.F32, db0, h);
        cpu.linearBackwardThroughGelu(cd, cdb, cpu.upload(DType.F32, dout, N, IC), cpu.upload(DType.F32, w2, IC, h),
                cpu.upload(DType.F32, pre, N, h));
        Tensor gd = gpu.zeros(storage, N, h), gdb = gpu.upload(DType.F32, db0, h);
        gpu.linearBackwardThroughGelu(gd, gdb, gpu.upload(storage, dout, N, IC), gpu.upload(storage, w2, IC, h),
                gpu.upload(storage, pre, N, h));
        FusedParity.assertClose(storage + " dpreact (h " + h + ")", cpu.download(cd), gpu.download(gd), ulp, rel);
        FusedParity.assertClose(storage + " dbias (h " + h + ")", cpu.download(cdb), gpu.download(gdb), 0, bf16 ? 1e-2 : 1e-4);
    }
}
