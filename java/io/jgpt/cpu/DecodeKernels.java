package io.jgpt.cpu;

import java.util.Arrays;
import java.util.List;

/**
 * The CPU kernels a decoder needs, on plain row-major float arrays of a few rows: the {@link MatVec}
 * product over {@link WeightMatrix} weights, LayerNorm, GELU, residual adds, embedding lookup and attention
 * against a per-sequence key/value cache. One worker pool serves them all.
 */
public final class DecodeKernels implements AutoCloseable {
    private final Parallel parallel;
    private final MatVec matVec;
    private final LayerNorm layerNorm;
    private final Pointwise pointwise;
    private final CachedAttention attention;
    private float[] position = new float[0];

    /** @param threads worker threads (1 runs everything on the calling thread) */
    public DecodeKernels(int threads) {
        parallel = new Parallel(threads);
        matVec = new MatVec(parallel);
        layerNorm = new LayerNorm(parallel);
        pointwise = new Pointwise(parallel);
        attention = new CachedAttention(parallel);
    }

    public int threads() {
        return parallel.threads();
    }

    /** y (rows, out) = x (rows, in) · W + bias (bias may be null). */
    public void linear(WeightMatrix w, float[] bias, float[] x, float[] y, int rows) {
        matVec.multiply(w, bias, x, y, rows);
    }

    /** out = LayerNorm(in) over {@code rows} rows of width c (eps 1e-5, as in training). */
    public void layerNorm(float[] out, float[] in, float[] weight, float[] bias, int rows, int c) {
        float[] mean = new float[rows], rstd = new float[rows]; // the statistics training keeps for backward
        layerNorm.forward(out, mean, rstd, in, weight, 0, bias, 0, rows, c);
    }

    /** out = GELU(in) (tanh approximation) over the whole arrays, which have equal lengths. */
    public void gelu(float[] out, float[] in) {
        pointwise.geluForward(out, in);
    }

    /** out = a + b element-wise over the whole arrays. */
    public void add(float[] out, float[] a, float[] b) {
        pointwise.add(out, a, b);
    }

    /** out[r] = wte[ids[r]] + wpe[positions[r]]; both tables have one row per id / position. */
    public void embed(float[] out, WeightMatrix wte, WeightMatrix wpe, int[] ids, int[] positions) {
        int c = wte.rowLength();
        if (position.length < c) position = new float[c];
        for (int r = 0; r < ids.length; r++) {
            wte.row(ids[r], out, r * c);
            wpe.row(positions[r], position, 0);
            Simd.add(position, 0, out, r * c, c);
        }
    }

    /**
     * Causal attention of row r (a token of sequence seqs[r] at positions[r]) over its sequence's cache, after
     * writing the row's key and value into it. qkv (rows, 3c) = [q | k | v]; caches (sequences, nh, cacheT, c/nh).
     */
    public void attention(float[] out, float[] kCache, float[] vCache, float[] qkv, int[] seqs, int[] positions,
                          int c, int nh, int cacheT) {
        attention.forwardRows(out, kCache, vCache, qkv, seqs, positions, c, nh, cacheT);
    }

    @Override
    public void close() {
        parallel.close();
    }

    /**
     * Starts running every decode kernel on tiny inputs on a daemon thread, so that the JIT has compiled them
     * by the time the first prompt runs: the Vector API is orders of magnitude slower before compilation, and
     * left to itself a first prefill would run mostly interpreted. {@code samples} are small views of the
     * real weights ({@link WeightMatrix#corner}): the same kind of memory segment, so the compiled code
     * is not thrown away when it first meets the real matrices. Join the thread before the first token.
     */
    public static Thread warmUpInBackground(List<WeightMatrix> samples) {
        return Thread.ofPlatform().daemon().name("jgpt-kernel-warm-up").start(() -> warmUp(samples));
    }

    /**
     * Enough calls for the kernels' loops to pass the JIT's top-tier thresholds (HotSpot's defaults count
     * back-edges) and few enough not to hold up the first token: GPT-2 small on 2 CPUs, 500 calls left the
     * prefill partly in C1 (0.20-0.36 s of 16 tokens), 1500 spent 0.3 s more warming up than 800 (first token
     * 1.39-1.52 s with 800).
     */
    private static final int WARM_UP_CALLS = 800;

    private static void warmUp(List<WeightMatrix> samples) {
        // Widths like a real model's (GPT-2 small's LayerNorm rows are 768 wide, its GELU rows 3072): the loops
        // must turn often enough per call for the JIT to reach its top tier during the warm-up, not during the
        // first prompt, whose prefill otherwise ran with GELU and LayerNorm still in C1 (0.4 s of 16 tokens).
        int c = 256, heads = 4, cacheT = 16;
        int in = samples.stream().mapToInt(WeightMatrix::in).max().orElse(1);
        int out = samples.stream().mapToInt(WeightMatrix::out).max().orElse(1);
        float[] x = new float[4 * in], y = new float[4 * out], bias = new float[out];
        float[] h = new float[4 * c], wide = new float[4 * 4 * c], qkv = new float[4 * 3 * c], att = new float[4 * c];
        float[] gain = new float[c], kv = new float[heads * cacheT * (c / heads)], v = new float[kv.length];
        Arrays.fill(x, 0.5f);
        Arrays.fill(qkv, 0.25f);
        int[] seqs = {0, 0, 0, 0}, positions = {0, 1, 2, 3};
        try (DecodeKernels k = new DecodeKernels(1)) {
            for (int i = 0; i < WARM_UP_CALLS; i++) {
                for (WeightMatrix w : samples) {
                    k.linear(w, bias, x, y, 1);
                    k.linear(w, bias, x, y, 4);
                }
                k.layerNorm(h, h, gain, gain, 4, c);
                k.gelu(wide, wide);
                k.add(h, h, h);
                k.attention(att, kv, v, qkv, seqs, positions, c, heads, cacheT);
            }
        }
    }
}
