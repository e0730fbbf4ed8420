package io.jgpt.ops;

/**
 * One dropout site in one step. The keep/drop decision for element {@code i} is a pure function of
 * ({@link #key}, i): {@code bits = mix64(key + i * GOLDEN)}; the element is dropped when
 * {@code (bits >>> 40) < threshold}. The CUDA kernels evaluate exactly the same integer arithmetic, so
 * CPU and GPU produce identical masks and parity tests can run with dropout on.
 *
 * <p>The CUDA kernels read the key from device memory, not from their arguments, so that a recorded graph
 * draws new masks every step: a site of a forward pass has a {@link #slot} in the key table the model stages
 * before the pass ({@link Ops#stageDropoutKeys}); a {@link #LOOSE} site's key is copied by the backend itself
 * as the op is queued (tests and single ops; not possible inside a graph capture).
 *
 * @param p         drop probability in [0, 1)
 * @param key       per-(seed, stream) key, see {@link #of}
 * @param threshold {@code floor(p * 2^24)}: 24-bit uniform values below it are dropped
 * @param slot      index of this site's key in the staged key table, or {@link #LOOSE}
 */
public record Dropout(float p, long key, int threshold, int slot) {

    public static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final double TWO_24 = 16777216.0;
    /** A site outside any staged key table. */
    public static final int LOOSE = -1;

    /** No dropout (evaluation, or p = 0). */
    public static final Dropout NONE = new Dropout(0f, 0L, 0, LOOSE);

    /**
     * @param seed   the run's seed
     * @param stream distinct for every (step, site) pair, so masks never repeat
     */
    public static Dropout of(float p, long seed, long stream) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout must be in [0, 1), got " + p);
        if (p == 0f) return NONE;
        return new Dropout(p, mix64(seed ^ mix64(stream + GOLDEN)), (int) (p * TWO_24), LOOSE);
    }

    /** This site with its key at {@code slot} of the staged key table. */
    public Dropout atSlot(int slot) {
        if (slot < 0) throw new IllegalArgumentException("key table slot " + slot + " is negative");
        return new Dropout(p, key, threshold, slot);
    }

    public boolean active() {
        return threshold > 0;
    }

    /** The factor kept elements are multiplied by. */
    public float scale() {
        return 1f / (1f - p);
    }

    public boolean keep(long index) {
        return (mix64(key + index * GOLDEN) >>> 40) >= threshold;
    }

    /** MurmurHash3's 64-bit finaliser: a bijective mixer with full avalanche. */
    public static long mix64(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}
