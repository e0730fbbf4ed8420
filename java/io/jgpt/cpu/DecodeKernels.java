package io.jgpt.cpu;

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
        attention.forward(out, kCache, vCache, qkv, seqs, positions, null, new CachedAttention.Dims(c, nh, cacheT, 0));
    }

    @Override
    public void close() {
        parallel.close();
    }
}
