package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.StepState;
import io.jgpt.ops.Dropout;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every CUDA op, forward and backward, against the CPU reference backend on the same random inputs, with
 * shapes that are not multiples of the warp size. Backward ops start from non-zero gradients so that the
 * accumulate (+=) contract is checked too. Error bound: max |gpu - cpu| / max |cpu| per tensor.
 */
@Tag("gpu")
class CudaParityTest {

    // fp32 bounds: element-wise ops differ only in rounding and libm ulps; reductions (layer norm,
    // softmax, GEMMs with another summation order) a little more.
    private static final double ELEMENTWISE = 1e-5;
    private static final double REDUCTION = 1e-4;
    private static final double EXACT = 1e-6;
    // TF32 keeps 10 mantissa bits (unit round-off 2^-11 ~ 5e-4 per operand): over K ~ 50 random terms the
    // largest error reaches a few 1e-4 of the largest output, so 1e-3 would flake; 5e-3 still catches bugs.
    private static final double TF32 = 5e-3;

    private static final int B = 2, T = 37, C = 48, NH = 4, V = 101, MAX_T = 64;

    private static Ops cpu, gpu;

    /** Both backends' copies of one tensor. */
    private record P(Tensor c, Tensor g) {
        Tensor pick(Ops ops) {
            return ops == cpu ? c : g;
        }
    }

    @BeforeAll
    static void setUp() throws ReflectiveOperationException {
        CudaDevice.Probe probe = CudaOps.available();
        assumeTrue(probe.available(), "CUDA parity tests skipped: " + probe.message());
        cpu = cpu();
        gpu = new CudaOps(0, "auto", false);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
    }

    /** The CPU backend, loaded by name so this branch compiles without it. */
    static Ops cpu() throws ReflectiveOperationException {
        Class<?> k;
        try {
            k = Class.forName("io.jgpt.cpu.CpuOps");
        } catch (ClassNotFoundException e) {
            assumeTrue(false, "CUDA parity tests skipped: CPU backend io.jgpt.cpu.CpuOps is not on the classpath");
            return null;
        }
        return (Ops) k.getConstructor(int.class).newInstance(2);
    }

    // ---- tests --------------------------------------------------------------------------------------

    @Test
    void embedding() {
        Random r = new Random(1);
        int[] toks = new int[B * T];
        for (int i = 0; i < toks.length; i++) toks[i] = r.nextInt(V / 4); // repeats exercise the scatter-add
        P tokens = ints(toks, B, T), wte = rand(r, V, C), wpe = rand(r, MAX_T, C), out = zeros(B, T, C);
        call(ops -> ops.embeddingForward(out.pick(ops), tokens.pick(ops), wte.pick(ops), wpe.pick(ops)));
        assertClose("embedding out", out, EXACT);

        P dwte = rand(r, V, C), dwpe = rand(r, MAX_T, C), dout = rand(r, B, T, C);
        call(ops -> ops.embeddingBackward(dwte.pick(ops), dwpe.pick(ops), dout.pick(ops), tokens.pick(ops)));
        assertClose("embedding dwte", dwte, ELEMENTWISE);
        assertClose("embedding dwpe", dwpe, ELEMENTWISE);
    }

    @Test
    void layerNorm() {
        Random r = new Random(2);
        P in = rand(r, B, T, C), w = rand(r, C), b = rand(r, C), out = zeros(B, T, C), mean = zeros(B * T),
                rstd = zeros(B * T);
        call(ops -> ops.layerNormForward(out.pick(ops), mean.pick(ops), rstd.pick(ops), in.pick(ops),
                w.pick(ops), b.pick(ops)));
        assertClose("layernorm out", out, REDUCTION);
        assertClose("layernorm mean", mean, REDUCTION);
        assertClose("layernorm rstd", rstd, REDUCTION);

        P din = rand(r, B, T, C), dw = rand(r, C), db = rand(r, C), dout = rand(r, B, T, C);
        call(ops -> ops.layerNormBackward(din.pick(ops), dw.pick(ops), db.pick(ops), dout.pick(ops),
                in.pick(ops), w.pick(ops), mean.pick(ops), rstd.pick(ops)));
        assertClose("layernorm din", din, REDUCTION);
        assertClose("layernorm dweight", dw, REDUCTION);
        assertClose("layernorm dbias", db, REDUCTION);
    }

    @Test
    void linear() {
        checkLinear(gpu, REDUCTION, 3 * C, true);
        checkLinear(gpu, REDUCTION, 37, false);
    }

    @Test
    void linearTf32() {
        try (Ops tf32 = new CudaOps(0, "auto", true)) {
            checkLinear(tf32, TF32, 4 * C, true);
        }
    }

    private void checkLinear(Ops g, double tol, int oc, boolean withBias) {
        requireCpu();
        Random r = new Random(3 + oc);
        P in = rand(g, r, B, T, C), w = rand(g, r, oc, C), b = withBias ? rand(g, r, oc) : null;
        P out = zeros(g, B, T, oc);
        call(g, ops -> ops.linearForward(out.pick(ops), in.pick(ops), w.pick(ops), b == null ? null : b.pick(ops)));
        assertClose(g, "linear out", out, tol);

        P din = rand(g, r, B, T, C), dw = rand(g, r, oc, C), db = withBias ? rand(g, r, oc) : null;
        P dout = rand(g, r, B, T, oc);
        call(g, ops -> ops.linearBackward(din.pick(ops), dw.pick(ops), db == null ? null : db.pick(ops),
                dout.pick(ops), in.pick(ops), w.pick(ops)));
        assertClose(g, "linear din", din, tol);
        assertClose(g, "linear dweight", dw, tol);
        if (db != null) assertClose(g, "linear dbias", db, tol);
    }

    /**
     * The fused flash kernels against the CPU reference: sequence lengths from 1 to 1024, including ones that are not
     * multiples of the kernels' 32-key tiles or 64-row blocks; head size 64 (the fast path) and the padded ones (19
     * pads to 32, 100 to 128); dropout off and on (identical masks on both sides).
     */
    @ParameterizedTest(name = "T={0} hs={1} dropout={2}")
    @CsvSource({"1,64,0", "2,19,0.2", "31,64,0", "33,64,0.1", "64,64,0.2", "65,100,0", "100,19,0.1", "129,64,0",
            "300,100,0.2", "1024,64,0", "1024,64,0.1"})
    void attention(int t, int hs, float p) {
        requireCpu();
        Random r = new Random(4 + t);
        int b = 2, nh = 3, c = nh * hs;
        Dropout dropout = Dropout.of(p, 42, 7 + t);
        P qkv = rand(r, b, t, 3 * c), out = zeros(b, t, c), lse = zeros(b, nh, t);
        call(ops -> ops.attentionForward(out.pick(ops), lse.pick(ops), qkv.pick(ops), nh, dropout));
        assertClose("attention out", out, REDUCTION);
        assertClose("attention lse", lse, REDUCTION);

        P dqkv = rand(r, b, t, 3 * c), dout = rand(r, b, t, c);
        call(ops -> ops.attentionBackward(dqkv.pick(ops), dout.pick(ops), qkv.pick(ops), out.pick(ops),
                lse.pick(ops), nh, dropout));
        assertClose("attention dqkv", dqkv, REDUCTION);
    }

    /**
     * The bf16 tensor-core kernels against the fp32 CPU ops on the same bf16-rounded inputs, T from 1 to 1024 (ragged
     * against the 64-row tiles), head sizes 64 (16-byte loads), 48 and 19 (padded), dropout off and on. The forward
     * from qkv; the backward from the CPU forward's out (rounded to bf16) and lse on both sides and a non-zero bf16
     * dqkv (the += contract), the CPU's result rounded once to bf16 as Bf16Storage stores it. Bounds relative to the
     * largest CPU value: out 2e-2 (P and out rounded to bf16, 2^-8 each), lse 1e-4 (fp32 sums of exact bf16
     * products), dqkv 2e-2 (P * Z and dS rounded to bf16 before their products, one bf16 ulp of the stored sum).
     */
    @ParameterizedTest(name = "bf16 T={0} hs={1} dropout={2}")
    @CsvSource({"1,64,0", "2,64,0.1", "63,64,0", "77,64,0.1", "130,48,0", "300,19,0.2", "1024,64,0", "1024,64,0.1"})
    void attentionBf16(int t, int hs, float p) {
        requireCpu();
        Random r = new Random(40 + t);
        int b = 2, nh = 3, c = nh * hs;
        Dropout dropout = Dropout.of(p, 43, t);
        float[] x = bf16Gaussian(r, b * t * 3 * c), dy = bf16Gaussian(r, b * t * c), dx = bf16Gaussian(r, b * t * 3 * c);
        Tensor cpuQkv = cpu.upload(DType.F32, x, b, t, 3 * c);
        Tensor cpuOut = cpu.zeros(DType.F32, b, t, c), cpuLse = cpu.zeros(DType.F32, b, nh, t);
        cpu.attentionForward(cpuOut, cpuLse, cpuQkv, nh, dropout);
        Tensor qkv = gpu.upload(DType.BF16, x, b, t, 3 * c), out = gpu.zeros(DType.BF16, b, t, c);
        Tensor lse = gpu.zeros(DType.F32, b, nh, t);
        gpu.attentionForward(out, lse, qkv, nh, dropout);
        assertRelative("bf16 attention out", cpu.download(cpuOut), gpu.download(out), 2e-2);
        assertRelative("bf16 attention lse", cpu.download(cpuLse), gpu.download(lse), 1e-4);

        float[] y = cpu.download(cpuOut);
        io.jgpt.tensor.Bf16.round(y);
        Tensor cpuDqkv = cpu.upload(DType.F32, dx, b, t, 3 * c);
        cpu.attentionBackward(cpuDqkv, cpu.upload(DType.F32, dy, b, t, c), cpuQkv, cpu.upload(DType.F32, y, b, t, c),
                cpuLse, nh, dropout);
        float[] expected = cpu.download(cpuDqkv);
        io.jgpt.tensor.Bf16.round(expected);
        Tensor dqkv = gpu.upload(DType.BF16, dx, b, t, 3 * c);
        gpu.attentionBackward(dqkv, gpu.upload(DType.BF16, dy, b, t, c), qkv, gpu.upload(DType.BF16, y, b, t, c),
                gpu.upload(DType.F32, cpu.download(cpuLse), b, nh, t), nh, dropout);
        assertRelative("bf16 attention dqkv", expected, gpu.download(dqkv), 2e-2);
    }

    @Test
    void bf16AttentionRefusesHeadsLargerThan64() {
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.attentionBackward(gpu.zeros(DType.BF16, 1, 4, 240),
                gpu.zeros(DType.BF16, 1, 4, 80), gpu.zeros(DType.BF16, 1, 4, 240), gpu.zeros(DType.BF16, 1, 4, 80),
                gpu.zeros(DType.F32, 1, 1, 4), 1, Dropout.NONE));
        assertTrue(e.getMessage().contains("head size 80"), e.getMessage());
    }

    private static float[] bf16Gaussian(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        io.jgpt.tensor.Bf16.round(x);
        return x;
    }

    /** max |actual - expected| / max |expected| within tol. */
    static void assertRelative(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + " size");
        double maxRef = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            double err = Math.abs((double) actual[i] - expected[i]);
            if (!(err <= maxErr)) { // NaN counts as the worst error
                maxErr = err;
                worst = i;
            }
        }
        double rel = maxErr / Math.max(maxRef, 1e-30);
        assertTrue(rel <= tol, String.format("%s: relative error %.3g > %.1g (index %d: cpu %s, gpu %s)", what,
                rel, tol, worst, expected[worst], actual[worst]));
    }

    @Test
    void attentionRejectsHeadsLargerThanTheKernels() {
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.attentionForward(gpu.zeros(DType.F32, 1, 4, 130),
                gpu.zeros(DType.F32, 1, 1, 4), gpu.zeros(DType.F32, 1, 4, 390), 1, Dropout.NONE));
        assertTrue(e.getMessage().contains("head size 130"), e.getMessage());
    }

    @Test
    void attentionCached() {
        checkAttentionCached(MAX_T, ELEMENTWISE, T, 1, 5); // prefill, one token, a chunk
    }

    @Test
    void attentionCachedLongContext() {
        // More keys than threads per block. ~650 near-uniform weights average v to outputs of ~0.1 while the
        // float sums round at ~1e-6 (summed in a different order on each side), hence the reduction bound.
        checkAttentionCached(700, REDUCTION, 650, 1, 2);
    }

    /**
     * A decoding step's shape: one new token per sequence, each at its own position; and a position out of range
     * (which the host never stages, but a replayed graph cannot check) writes nothing and gives a zero row.
     */
    @Test
    void attentionCachedSequencesAtTheirOwnPositions() {
        requireCpu();
        Random r = new Random(23);
        int hs = C / NH;
        float[] maskData = new float[MAX_T * MAX_T];
        for (int t = 0; t < MAX_T; t++)
            for (int t2 = t + 1; t2 < MAX_T; t2++) maskData[t * MAX_T + t2] = 1f;
        P mask = upload(gpu, maskData, MAX_T, MAX_T);
        P kCache = rand(r, B, NH, MAX_T, hs), vCache = rand(r, B, NH, MAX_T, hs);
        P qkv = rand(r, B, 1, 3 * C), out = zeros(B, 1, C);
        P positions = ints(new int[] {41, 3}, B, 1);
        call(ops -> ops.attentionCached(out.pick(ops), qkv.pick(ops), kCache.pick(ops), vCache.pick(ops),
                mask.pick(ops), positions.pick(ops), NH));
        assertClose("attentionCached out at positions 41 and 3", out, ELEMENTWISE);
        assertClose("attentionCached kCache", kCache, EXACT);
        assertClose("attentionCached vCache", vCache, EXACT);

        float[] kBefore = gpu.download(kCache.g()), vBefore = gpu.download(vCache.g());
        Tensor bad = gpu.upload(new int[] {MAX_T, -1}, B, 1);
        gpu.attentionCached(out.g(), qkv.g(), kCache.g(), vCache.g(), mask.g(), bad, NH);
        assertArrayEquals(new float[B * C], gpu.download(out.g()), "rows out of range are zero");
        assertArrayEquals(kBefore, gpu.download(kCache.g()), "no key written for a position out of range");
        assertArrayEquals(vBefore, gpu.download(vCache.g()), "no value written for a position out of range");
    }

    /**
     * Greedy choice on the device: the same ids as the CPU (exactly), on rows with many ties (coarse values),
     * NaNs and infinities, for one logit, fewer than a warp, more than a block and GPT-2's vocabulary.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 31, 257, 50257})
    void argmaxRows(int v) {
        requireCpu();
        Random r = new Random(v);
        int rows = 6;
        float[] logits = new float[rows * v];
        for (int i = 0; i < logits.length; i++) {
            int kind = r.nextInt(100);
            logits[i] = kind == 0 ? Float.NaN : kind == 1 ? Float.POSITIVE_INFINITY : (float) Math.floor(r.nextGaussian() * 3);
        }
        // Row 0 all NaN (index 0); row 1 its largest value twice, the second copy first in another thread's share.
        java.util.Arrays.fill(logits, 0, v, Float.NaN);
        if (v > 40) {
            java.util.Arrays.fill(logits, v, 2 * v, 0f);
            logits[v + 37] = 5f;
            logits[v + 3] = 5f;
        }
        P in = upload(gpu, logits, rows, 1, v);
        P out = ints(new int[rows], rows);
        call(ops -> ops.argmaxRows(out.pick(ops), in.pick(ops)));
        int[] c = new int[rows], g = new int[rows];
        cpu.read(out.c(), c);
        gpu.read(out.g(), g);
        assertArrayEquals(c, g, "argmax ids, V = " + v);
        if (v > 40) assertEquals(3, g[1], "ties go to the lowest index");
    }

    /** Successive attentionCached calls of {@code chunks} new positions each, from position 0. */
    private void checkAttentionCached(int maxT, double tol, int... chunks) {
        requireCpu();
        Random r = new Random(11 + maxT);
        int hs = C / NH;
        float[] maskData = new float[maxT * maxT];
        for (int t = 0; t < maxT; t++)
            for (int t2 = t + 1; t2 < maxT; t2++) maskData[t * maxT + t2] = 1f;
        P mask = upload(gpu, maskData, maxT, maxT);
        P kCache = rand(r, B, NH, maxT, hs), vCache = rand(r, B, NH, maxT, hs); // rows never written stay equal
        int pos = 0;
        for (int tn : chunks) {
            P qkv = rand(r, B, tn, 3 * C), out = zeros(B, tn, C);
            int at = pos;
            int[] positions = new int[B * tn];
            for (int i = 0; i < positions.length; i++) positions[i] = at + i % tn;
            P p = ints(positions, B, tn);
            call(ops -> ops.attentionCached(out.pick(ops), qkv.pick(ops), kCache.pick(ops), vCache.pick(ops),
                    mask.pick(ops), p.pick(ops), NH));
            assertClose("attentionCached out at position " + at, out, tol);
            pos += tn;
        }
        assertClose("attentionCached kCache", kCache, EXACT);
        assertClose("attentionCached vCache", vCache, EXACT);
    }

    @Test
    void gelu() {
        requireCpu();
        Random r = new Random(5);
        P in = rand(r, 3, 37, 29), out = zeros(3, 37, 29), din = rand(r, 3, 37, 29), dout = rand(r, 3, 37, 29);
        call(ops -> ops.geluForward(out.pick(ops), in.pick(ops)));
        assertClose("gelu out", out, ELEMENTWISE);
        call(ops -> ops.geluBackward(din.pick(ops), dout.pick(ops), in.pick(ops)));
        assertClose("gelu din", din, ELEMENTWISE);
    }

    @Test
    void add() {
        requireCpu();
        Random r = new Random(6);
        P a = rand(r, B, T, C), b = rand(r, B, T, C), out = zeros(B, T, C);
        call(ops -> ops.add(out.pick(ops), a.pick(ops), b.pick(ops)));
        assertClose("add out", out, EXACT);
        call(ops -> ops.add(a.pick(ops), a.pick(ops), b.pick(ops))); // aliasing
        assertClose("add in place", a, EXACT);
    }

    @Test
    void dropout() {
        requireCpu();
        Random r = new Random(7);
        for (Dropout d : new Dropout[] {Dropout.NONE, Dropout.of(0.3f, 11, 3)}) {
            P in = rand(r, B, T, C), out = zeros(B, T, C), din = rand(r, B, T, C), dout = rand(r, B, T, C);
            call(ops -> ops.dropoutForward(out.pick(ops), in.pick(ops), d));
            assertClose("dropout out p=" + d.p(), out, EXACT);
            call(ops -> ops.dropoutBackward(din.pick(ops), dout.pick(ops), d));
            assertClose("dropout din p=" + d.p(), din, EXACT);
        }
    }

    @Test
    void crossEntropy() {
        requireCpu();
        Random r = new Random(8);
        int[] tg = new int[B * T];
        for (int i = 0; i < tg.length; i++) tg[i] = i % 5 == 0 ? -100 : r.nextInt(V);
        P targets = ints(tg, B, T), logits = rand(r, B, T, V), losses = zeros(B, T), dlogits = rand(r, B, T, V);
        call(ops -> ops.crossEntropy(losses.pick(ops), null, logits.pick(ops), targets.pick(ops), 0.5f));
        assertClose("cross-entropy losses (no grad)", losses, ELEMENTWISE);
        call(ops -> ops.crossEntropy(losses.pick(ops), dlogits.pick(ops), logits.pick(ops), targets.pick(ops),
                0.5f));
        assertClose("cross-entropy losses", losses, ELEMENTWISE);
        assertClose("cross-entropy dlogits", dlogits, ELEMENTWISE);
        call(ops -> ops.crossEntropy(losses.pick(ops), logits.pick(ops), logits.pick(ops), targets.pick(ops),
                0.5f)); // in place
        assertClose("cross-entropy losses (in place)", losses, ELEMENTWISE);
        assertClose("cross-entropy dlogits (in place)", logits, ELEMENTWISE);
    }

    /** The arena optimizer: decision (norm, clip, step count) and one-launch AdamW with decay groups, 10 steps. */
    @Test
    void arenaAdamw() {
        requireCpu();
        Random r = new Random(9);
        int n = 2 * ArenaChunks.CHUNK + 3 * C + 5;
        int[] rows = ArenaChunks.rows(List.of(new ArenaChunks.Span(0, ArenaChunks.CHUNK + 7, true),
                new ArenaChunks.Span(ArenaChunks.CHUNK + 64, n - ArenaChunks.CHUNK - 64, false)));
        P chunks = ints(rows, rows.length / 3, 3);
        P param = rand(r, n), m = zeros(n), v = zeros(n), state = zeros(StepState.SIZE);
        AdamWConfig cfg = new AdamWConfig(0.9f, 0.95f, 1e-8f, 0.1f);
        for (int t = 1; t <= 10; t++) {
            P grad = rand(r, n);
            float[] lr = {1e-2f, 0.5f};
            call(ops -> ops.write(ops.view(state.pick(ops), StepState.LR, 2), lr));
            // The norm of n uniform(-1,1) values is about sqrt(n/3) = 210: a bound of 150 clips.
            call(ops -> ops.stepDecision(state.pick(ops), grad.pick(ops), chunks.pick(ops), 150f));
            call(ops -> ops.adamw(param.pick(ops), grad.pick(ops), m.pick(ops), v.pick(ops), chunks.pick(ops),
                    state.pick(ops), cfg, true));
            assertClose("step state at step " + t, state, ELEMENTWISE);
            assertClose("gradients cleared at step " + t, grad, 0);
        }
        assertEquals(10f, gpu.download(state.g)[StepState.STEPS]);
        assertTrue(gpu.download(state.g)[StepState.CLIP] < 1f, "the bound clipped");
        assertClose("adamw param", param, ELEMENTWISE);
        assertClose("adamw m", m, ELEMENTWISE);
        assertClose("adamw v", v, ELEMENTWISE);
    }

    @Test
    void lossAccumulationAndSumOfSquares() {
        requireCpu();
        Random r = new Random(10);
        P losses = rand(r, B, T), state = zeros(StepState.SIZE), c = rand(r, B, T, C);
        call(ops -> ops.accumulateLoss(state.pick(ops), losses.pick(ops), 0.25f));
        call(ops -> ops.accumulateLoss(state.pick(ops), losses.pick(ops), 0.25f));
        assertClose("accumulated loss", state, ELEMENTWISE);
        double expected = cpu.sumOfSquares(c.c), actual = gpu.sumOfSquares(c.g);
        assertEquals(expected, actual, 1e-6 * expected, "sumOfSquares");
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private interface Op {
        void run(Ops ops);
    }

    private static void requireCpu() {
        assumeTrue(cpu != null, "CPU backend not available");
    }

    private static void call(Op op) {
        call(gpu, op);
    }

    /** Runs op on the CPU backend and on {@code g}; P.pick resolves each tensor for the backend at hand. */
    private static void call(Ops g, Op op) {
        op.run(cpu);
        op.run(g);
    }

    private static P rand(Random r, int... shape) {
        return rand(gpu, r, shape);
    }

    private static P rand(Ops g, Random r, int... shape) {
        float[] data = new float[Math.toIntExact(numel(shape))];
        for (int i = 0; i < data.length; i++) data[i] = r.nextFloat() * 2 - 1;
        return upload(g, data, shape);
    }

    private static P upload(Ops g, float[] data, int... shape) {
        return new P(cpu.upload(DType.F32, data, shape), g.upload(DType.F32, data, shape));
    }

    private static P zeros(int... shape) {
        return zeros(gpu, shape);
    }

    private static P zeros(Ops g, int... shape) {
        return new P(cpu.zeros(DType.F32, shape), g.zeros(DType.F32, shape));
    }

    private static P ints(int[] data, int... shape) {
        return new P(cpu.upload(data, shape), gpu.upload(data, shape));
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    private static void assertClose(String what, P p, double tol) {
        assertClose(gpu, what, p, tol);
    }

    private static void assertClose(Ops g, String what, P p, double tol) {
        assertRelative(what, cpu.download(p.c), g.download(p.g), tol);
    }
}
