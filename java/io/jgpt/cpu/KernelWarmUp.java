package io.jgpt.cpu;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Runs every decode kernel on small inputs on a daemon thread, so that the JIT has compiled them by the time
 * the first prompt runs: the Vector API is orders of magnitude slower before compilation, and left to itself a
 * first prefill would run mostly interpreted.
 *
 * <p>It starts before the weights are open: LayerNorm, GELU, the residual add and attention work on plain
 * arrays and warm up at once (with the Vector API's own classes and lambdas, which the JVM spins at this
 * point), while the caller maps the checkpoint. The products need {@link #weightsOpen samples} of the real
 * weights ({@link WeightMatrix#corner}): the same kind of memory segment, so that the compiled code is not
 * thrown away when it first meets the real matrices.
 */
public final class KernelWarmUp {

    /**
     * Enough calls for the kernels' loops to pass the JIT's top-tier thresholds (HotSpot's defaults count
     * back-edges) and few enough not to hold up the first token: GPT-2 small on 2 CPUs, 500 calls left the
     * prefill partly in C1 (0.20-0.36 s of 16 tokens), 1500 spent 0.3 s more warming up than 800 (first token
     * 1.39-1.52 s with 800).
     */
    private static final int CALLS = 800;

    private final CompletableFuture<List<WeightMatrix>> samples = new CompletableFuture<>();
    private final Thread thread;

    private KernelWarmUp() {
        thread = Thread.ofPlatform().daemon().name("jgpt-kernel-warm-up").start(this::run);
    }

    /** Starts warming up the kernels that need no weights. */
    public static KernelWarmUp start() {
        return new KernelWarmUp();
    }

    /** Hands over one small sample of each kind of weight matrix; the products warm up on them. */
    public void weightsOpen(List<WeightMatrix> kinds) {
        samples.complete(List.copyOf(kinds));
    }

    /** Stops early (the weights did not open, or were closed): the products are not warmed up. */
    public void cancel() {
        samples.cancel(false);
    }

    /** Waits until every kernel has run its calls (or the warm-up was cancelled). */
    public void await() {
        Joins.uninterruptibly(thread);
    }

    private void run() {
        // Widths like a real model's (GPT-2 small's LayerNorm rows are 768 wide, its GELU rows 3072): the loops
        // must turn often enough per call for the JIT to reach its top tier during the warm-up, not during the
        // first prompt, whose prefill otherwise ran with GELU and LayerNorm still in C1 (0.4 s of 16 tokens).
        int c = 256, heads = 4, cacheT = 16;
        float[] h = new float[4 * c], wide = new float[4 * 4 * c], qkv = new float[4 * 3 * c], att = new float[4 * c];
        float[] gain = new float[c], kv = new float[heads * cacheT * (c / heads)], v = new float[kv.length];
        Arrays.fill(qkv, 0.25f);
        int[] seqs = {0, 0, 0, 0}, positions = {0, 1, 2, 3};
        try (DecodeKernels k = new DecodeKernels(1)) {
            Products products = null;
            int done = 0;
            for (int i = 0; i < CALLS; i++) {
                k.layerNorm(h, h, gain, gain, 4, c);
                k.gelu(wide, wide);
                k.add(h, h, h);
                k.attention(att, kv, v, qkv, seqs, positions, c, heads, cacheT);
                if (products == null && samples.isDone()) products = Products.of(samples);
                if (products != null && done < CALLS) {
                    products.run(k);
                    done++;
                }
            }
            if (products == null) products = Products.of(samples); // waits for the weights to open
            for (; products != null && done < CALLS; done++) products.run(k);
        }
    }

    /** The products' inputs: one call at one row and one at four rows per sample. */
    private record Products(List<WeightMatrix> matrices, float[] x, float[] y, float[] bias) {

        /** Null when the weights did not open. */
        static Products of(CompletableFuture<List<WeightMatrix>> samples) {
            List<WeightMatrix> m;
            try {
                m = samples.join();
            } catch (RuntimeException cancelledOrFailed) {
                return null;
            }
            int in = m.stream().mapToInt(WeightMatrix::in).max().orElse(1);
            int out = m.stream().mapToInt(WeightMatrix::out).max().orElse(1);
            float[] x = new float[4 * in];
            Arrays.fill(x, 0.5f);
            return new Products(m, x, new float[4 * out], new float[out]);
        }

        void run(DecodeKernels k) {
            for (WeightMatrix w : matrices) {
                k.linear(w, bias, x, y, 1);
                k.linear(w, bias, x, y, 4);
            }
        }
    }
}
