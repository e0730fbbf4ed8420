package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The fused residual + LayerNorm kernel (residual_layernorm_forward) and the layer norm backward into the residual
 * gradient (its parameter sums split into 512-row groups: 1100 rows make three groups, the last ragged), on the
 * GPU against the CPU: bf16 against the bf16-storage mode, fp32 against CpuOps, on the same inputs.
 * Bounds: sum is one addition of the same two values rounded once, so it matches bit for bit; the normalised
 * output and the input gradient may differ by one bf16 ulp (2^-7 |cpu|) where float sums in another order (warp
 * butterflies against the CPU's lanes) straddle a rounding boundary, plus 1e-4 of the largest element for those
 * sums (1e-5 in fp32, where nothing is rounded to bf16); statistics and fp32 parameter gradients 1e-4 of the
 * largest element (as CudaParityTest's reductions).
 */
@Tag("gpu")
class ResidualLayerNormParityTest {

    private static final int N = 1100, C = 96;
    private static final double ONE_ULP = 0x1p-7, REDUCTION = 1e-4, F32_ROW = 1e-5;
    private static FusedParity backends;
    private static CudaOps gpu;

    @BeforeAll
    static void open() {
        backends = FusedParity.open("residual layer norm parity");
        gpu = backends.gpu;
    }

    @AfterAll
    static void close() {
        if (backends != null) backends.close();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void forwardAndBackwardMatchTheCpu(DType storage) {
        boolean bf16 = storage == DType.BF16;
        Ops cpu = backends.cpu(storage);
        Random r = new Random(bf16 ? 21 : 22);
        float[] x = FusedParity.values(r, N * C, 2, bf16), branch = FusedParity.values(r, N * C, 1, bf16);
        float[] w = FusedParity.values(r, C, 1, bf16), b = FusedParity.values(r, C, 1, bf16);

        Tensor cSum = cpu.zeros(DType.F32, N, C), cOut = cpu.zeros(DType.F32, N, C);
        Tensor cMean = cpu.zeros(DType.F32, N), cRstd = cpu.zeros(DType.F32, N);
        Tensor cw = cpu.upload(DType.F32, w, C), cb = cpu.upload(DType.F32, b, C);
        cpu.residualLayerNormForward(cSum, cOut, cMean, cRstd, cpu.upload(DType.F32, x, N, C),
                cpu.upload(DType.F32, branch, N, C), cw, cb);
        Tensor gSum = gpu.zeros(storage, N, C), gOut = gpu.zeros(storage, N, C);
        Tensor gMean = gpu.zeros(DType.F32, N), gRstd = gpu.zeros(DType.F32, N);
        Tensor gw = gpu.upload(storage, w, C), gb = gpu.upload(storage, b, C);
        gpu.residualLayerNormForward(gSum, gOut, gMean, gRstd, gpu.upload(storage, x, N, C),
                gpu.upload(storage, branch, N, C), gw, gb);
        assertArrayEquals(cpu.download(cSum), gpu.download(gSum), storage + " sum must match bit for bit");
        double row = bf16 ? REDUCTION : F32_ROW, ulp = bf16 ? ONE_ULP : 0;
        FusedParity.assertClose(storage + " out", cpu.download(cOut), gpu.download(gOut), ulp, row);
        FusedParity.assertClose(storage + " mean", cpu.download(cMean), gpu.download(gMean), 0, REDUCTION);
        FusedParity.assertClose(storage + " rstd", cpu.download(cRstd), gpu.download(gRstd), 0, REDUCTION);

        // The residual stream's gradient, accumulated into by the layer norm's input gradient.
        float[] dres = FusedParity.values(r, N * C, 1, bf16), dout = FusedParity.values(r, N * C, 1, bf16);
        float[] dw0 = FusedParity.values(r, C, 1, false), db0 = FusedParity.values(r, C, 1, false);
        Tensor cd = cpu.upload(DType.F32, dres, N, C), cdw = cpu.upload(DType.F32, dw0, C), cdb = cpu.upload(DType.F32, db0, C);
        cpu.layerNormBackward(cd, cdw, cdb, cpu.upload(DType.F32, dout, N, C), cSum, cw, cMean, cRstd);
        Tensor gd = gpu.upload(storage, dres, N, C), gdw = gpu.upload(DType.F32, dw0, C), gdb = gpu.upload(DType.F32, db0, C);
        gpu.layerNormBackward(gd, gdw, gdb, gpu.upload(storage, dout, N, C), gSum, gw, gMean, gRstd);
        FusedParity.assertClose(storage + " dsum", cpu.download(cd), gpu.download(gd), ulp, row);
        FusedParity.assertClose(storage + " dweight", cpu.download(cdw), gpu.download(gdw), 0, REDUCTION);
        FusedParity.assertClose(storage + " dbias", cpu.download(cdb), gpu.download(gdb), 0, REDUCTION);
    }
}
