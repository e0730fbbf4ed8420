package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.ops.Dropout;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The bf16 instantiations of the storage-templated kernels against the CPU in F32 on the same bf16 values.
 * Both sides read identical inputs (the CPU gets them already rounded with {@link Bf16#round}) and compute in
 * float; the GPU rounds each stored result once to nearest even, so a bf16 output may differ from the CPU's
 * result rounded the same way only where float libm ulps (tanhf, sqrtf) push a value across a rounding
 * boundary: at most one bf16 ulp, 2^-7 of the value (bound {@link #ONE_ULP}, relative to the largest element,
 * like CudaParityTest). A single sum or product of the same floats rounds identically and must match bit for
 * bit; a multiply-add may be fused on the GPU and gets the one-ulp bound.
 * Sizes are odd, so the 16-byte vector path and its element-by-element tail both run; a view at an odd
 * offset runs the misaligned path.
 */
@Tag("gpu")
class Bf16KernelParityTest {

    private static final double ONE_ULP = 0x1p-7;
    private static final double REDUCTION = 1e-4; // float statistics and F32 gradients, as in CudaParityTest
    private static final int N = 4099, ROWS = 37, C = 48, V = 101, MAX_T = 64, B = 2, T = 37;

    private static Ops cpu, gpu;

    @BeforeAll
    static void setUp() throws ReflectiveOperationException {
        CudaDevice.Probe probe = CudaOps.available();
        assumeTrue(probe.available(), "bf16 kernel parity tests skipped: " + probe.message());
        cpu = CudaParityTest.cpu();
        gpu = new CudaOps(0, "auto", false);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    /** One tensor as bf16 on the GPU and as the same values in F32 on the CPU. */
    private record P(Tensor c, Tensor g) {
        Tensor pick(Ops ops) {
            return ops == cpu ? c : g;
        }
    }

    @Test
    void hostTransfersRoundToNearestEvenAndWidenExactly() {
        float[] x = {1f, 1.00390625f, 1.01171875f, -3.3333333f, Float.NaN, 1e-40f, 3.4e38f, -0f};
        Tensor t = gpu.upload(DType.BF16, x, x.length);
        assertEquals(2L * x.length, t.bytes());
        float[] back = gpu.download(t);
        for (int i = 0; i < x.length; i++)
            assertEquals(Float.floatToRawIntBits(Bf16.round(x[i])), Float.floatToRawIntBits(back[i]), "element " + i);
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.write(t, new float[3]));
        assertTrue(e.getMessage().contains("3"), e.getMessage());
    }

    @Test
    void elementwiseKernels() {
        Random r = new Random(11);
        P a = rand(r, N), b = rand(r, N), out = rand(r, N), d = rand(r, N);
        run(o -> o.geluForward(out.pick(o), a.pick(o)));
        assertBf16("gelu forward", out, ONE_ULP);
        run(o -> o.geluBackward(d.pick(o), b.pick(o), a.pick(o)));
        assertBf16("gelu backward (accumulating)", d, ONE_ULP);
        run(o -> o.add(out.pick(o), a.pick(o), b.pick(o)));
        assertBf16("add", out, 0);
        Dropout drop = Dropout.of(0.3f, 77, 5);
        run(o -> o.dropoutForward(out.pick(o), a.pick(o), drop));
        assertBf16("dropout forward", out, 0);
        run(o -> o.dropoutBackward(d.pick(o), b.pick(o), drop));
        assertBf16("dropout backward (accumulating; the GPU may fuse the multiply-add)", d, ONE_ULP);
        double expected = cpu.sumOfSquares(a.c);
        assertEquals(expected, gpu.sumOfSquares(a.g), 1e-9 * expected, "sum of squares");
    }

    @Test
    void misalignedViewsTakeTheElementPath() {
        Random r = new Random(12);
        P base = rand(r, N + 3), in = rand(r, N);
        // Elements [3, N + 3) of base start 6 bytes past a 16-byte boundary.
        P out = new P(cpu.zeros(DType.F32, N), gpu.view(base.g, 3, N));
        run(o -> o.geluForward(out.pick(o), in.pick(o)));
        assertBf16("gelu into a misaligned view", out, ONE_ULP);
    }

    @Test
    void layerNorm() {
        Random r = new Random(13);
        P in = rand(r, ROWS, C), w = rand(r, C), b = rand(r, C), out = rand(r, ROWS, C);
        P mean = f32(ROWS), rstd = f32(ROWS);
        run(o -> o.layerNormForward(out.pick(o), mean.pick(o), rstd.pick(o), in.pick(o), w.pick(o), b.pick(o)));
        assertBf16("layernorm out", out, ONE_ULP + REDUCTION);
        assertF32("layernorm mean", mean, REDUCTION);
        assertF32("layernorm rstd", rstd, REDUCTION);
        P din = rand(r, ROWS, C), dout = rand(r, ROWS, C), dw = f32(C), db = f32(C);
        run(o -> o.layerNormBackward(din.pick(o), dw.pick(o), db.pick(o), dout.pick(o), in.pick(o), w.pick(o),
                mean.pick(o), rstd.pick(o)));
        assertBf16("layernorm din", din, ONE_ULP + REDUCTION);
        assertF32("layernorm dweight", dw, REDUCTION);
        assertF32("layernorm dbias", db, REDUCTION);
    }

    @Test
    void embedding() {
        Random r = new Random(14);
        int[] ids = new int[B * T];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(V / 4);
        Tensor tc = cpu.upload(ids, B, T), tg = gpu.upload(ids, B, T);
        P wte = rand(r, V, C), wpe = rand(r, MAX_T, C), out = rand(r, B, T, C);
        cpu.embeddingForward(out.c, tc, wte.c, wpe.c);
        gpu.embeddingForward(out.g, tg, wte.g, wpe.g);
        assertBf16("embedding out", out, 0);
        P dout = rand(r, B, T, C), dwte = f32(V, C), dwpe = f32(MAX_T, C);
        cpu.embeddingBackward(dwte.c, dwpe.c, dout.c, tc);
        gpu.embeddingBackward(dwte.g, dwpe.g, dout.g, tg);
        assertF32("embedding dwte", dwte, 1e-5);
        assertF32("embedding dwpe", dwpe, 1e-5);
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private interface Op {
        void run(Ops ops);
    }

    private static void run(Op op) {
        op.run(cpu);
        op.run(gpu);
    }

    /** Random values in [-1, 1) stored as bf16 on the GPU and as exactly those values in F32 on the CPU. */
    private static P rand(Random r, int... shape) {
        float[] x = new float[Math.toIntExact(numel(shape))];
        for (int i = 0; i < x.length; i++) x[i] = Bf16.round(r.nextFloat() * 2 - 1);
        return new P(cpu.upload(DType.F32, x, shape), gpu.upload(DType.BF16, x, shape));
    }

    /** Zeros in F32 on both backends (statistics and parameter gradients). */
    private static P f32(int... shape) {
        return new P(cpu.zeros(DType.F32, shape), gpu.zeros(DType.F32, shape));
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** GPU bf16 against the CPU's float result rounded to bf16; bound relative to the largest element. */
    private static void assertBf16(String what, P p, double bound) {
        float[] expected = cpu.download(p.c);
        Bf16.round(expected);
        float[] actual = gpu.download(p.g);
        if (bound == 0) {
            assertArrayEquals(expected, actual, what + ": bf16 results must match bit for bit");
            return;
        }
        CudaParityTest.assertRelative(what, expected, actual, bound);
    }

    private static void assertF32(String what, P p, double bound) {
        CudaParityTest.assertRelative(what, cpu.download(p.c), gpu.download(p.g), bound);
    }
}
