package io.jgpt.cuda;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor.DType;
import java.util.stream.IntStream;
import jcuda.Pointer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The GPU's fp32 -> bf16 narrowing ({@code Ops.copy} from F32 into BF16: kernel {@code bf16_narrow},
 * {@code cvt.rn.bf16.f32}) against {@link Bf16#fromFloat} for every one of the 2^32 float bit patterns, in
 * chunks of 2^26 moved as raw bits (so that no NaN payload is touched on the way): the CPU's bf16 storage
 * mode predicts the GPU only if the two agree everywhere, NaNs and subnormals included.
 */
@Tag("gpu")
class Bf16ExhaustiveGpuTest {

    private static final int CHUNK = 1 << 26;
    private static CudaOps gpu;

    @BeforeAll
    static void open() {
        CudaDevice.Probe probe = CudaOps.available();
        assumeTrue(probe.available(), "bf16 GPU rounding checks skipped: " + probe.message());
        gpu = new CudaOps(0, "auto", false);
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @Test
    void everyFloatNarrowsAsOnTheCpu() {
        int[] bits = new int[CHUNK];
        short[] narrowed = new short[CHUNK];
        try (CudaTensor in = (CudaTensor) gpu.zeros(DType.F32, CHUNK);
             CudaTensor out = (CudaTensor) gpu.zeros(DType.BF16, CHUNK)) {
            for (long first = 0; first < 1L << 32; first += CHUNK) {
                int base = (int) first;
                IntStream.range(0, CHUNK).parallel().forEach(i -> bits[i] = base + i);
                gpu.synchronize();
                cuMemcpyHtoD(in.ptr(), Pointer.to(bits), in.bytes());
                gpu.copy(out, in);
                gpu.synchronize();
                cuMemcpyDtoH(Pointer.to(narrowed), out.ptr(), out.bytes());
                int bad = IntStream.range(0, CHUNK).parallel()
                        .filter(i -> narrowed[i] != Bf16.fromFloat(Float.intBitsToFloat(bits[i])))
                        .findFirst().orElse(-1);
                if (bad >= 0) {
                    assertEquals(hex(Bf16.fromFloat(Float.intBitsToFloat(bits[bad]))), hex(narrowed[bad]),
                            "bf16 of float bits 0x" + Integer.toHexString(bits[bad]) + " (Java vs GPU)");
                }
            }
        }
    }

    private static String hex(short bits) {
        return String.format("0x%04x", bits & 0xFFFF);
    }
}
