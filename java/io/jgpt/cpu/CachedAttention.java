package io.jgpt.cpu;

import java.util.Arrays;

/**
 * Inference attention against a key/value cache. Two callers share one per-(query, head) body:
 * <ul>
 *   <li>{@link #forward}: {@link io.jgpt.ops.Ops#attentionCached}, a (batch, new positions) block whose
 *       sequences all start at the same position; one task per (batch, head).</li>
 *   <li>{@link #forwardRows}: the decoder's rows, each a token of its own sequence at its own position (a
 *       batch of prompts of different lengths, or a prompt's positions in one call).</li>
 * </ul>
 * A task writes only its own head's cache rows and output channels. The arithmetic (scaled dot, max-shifted
 * exp, normalise, accumulate p*v in key order) follows {@link Attention#forward}, so a prefill through the
 * cache reproduces the training forward pass.
 */
final class CachedAttention {

    /** batch, new positions, channels, heads, cache rows per head, mask row length, first new position. */
    record Dims(int b, int tn, int c, int nh, int cacheT, int maskT, int pos) {
        int hs() {
            return c / nh;
        }

        /** Cached positions visible after this call's writes. */
        int keys() {
            return pos + tn;
        }
    }

    private final Parallel parallel;
    private final Scratch scratch = new Scratch(1);

    CachedAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    void forward(float[] out, float[] kCache, float[] vCache, float[] qkv, float[] mask, Dims d) {
        int C = d.c(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        parallel.forEach(d.b() * d.nh(), bh -> {
            int b = bh / d.nh(), h = bh % d.nh();
            int head = bh * d.cacheT() * hs; // this head's (cacheT, hs) block of each cache
            for (int t = 0; t < d.tn(); t++) {
                store(qkv, (b * d.tn() + t) * 3 * C + C + h * hs, C, kCache, vCache, head + (d.pos() + t) * hs, hs);
            }
            float[] scores = scratch.get(0, d.keys());
            for (int t = 0; t < d.tn(); t++) {
                int p = d.pos() + t, row = b * d.tn() + t;
                attend(qkv, row * 3 * C + h * hs, kCache, vCache, head, hs, d.keys(), mask, p * d.maskT(), scale,
                        out, row * C + h * hs, scores);
            }
        });
    }

    /**
     * Row r is a token of sequence seqs[r] at position positions[r] (several rows of one sequence must come
     * in position order): its key and value go into that sequence's cache row, then its query attends to the
     * sequence's positions [0, positions[r]]. Caches are (sequences, nh, cacheT, hs); qkv is (rows, 3C).
     */
    void forwardRows(float[] out, float[] kCache, float[] vCache, float[] qkv, int[] seqs, int[] positions,
                     int c, int nh, int cacheT) {
        int rows = seqs.length, hs = c / nh;
        float scale = (float) (1.0 / Math.sqrt(hs));
        // One task per head (one hand-off per call: decoding makes 12 of these per token). Every key of the
        // head first: a row may attend to earlier rows of its own sequence written in this call.
        parallel.forEach(nh, h -> {
            for (int r = 0; r < rows; r++) {
                int head = (seqs[r] * nh + h) * cacheT * hs;
                store(qkv, r * 3 * c + c + h * hs, c, kCache, vCache, head + positions[r] * hs, hs);
            }
            for (int r = 0; r < rows; r++) {
                int keys = positions[r] + 1, head = (seqs[r] * nh + h) * cacheT * hs;
                attend(qkv, r * 3 * c + h * hs, kCache, vCache, head, hs, keys, null, 0, scale, out, r * c + h * hs,
                        scratch.get(0, keys));
            }
        });
    }

    /** Copies one head's key (at qkv[k]) and value (C further on) into cache row {@code row}. */
    private static void store(float[] qkv, int k, int c, float[] kCache, float[] vCache, int row, int hs) {
        System.arraycopy(qkv, k, kCache, row, hs);
        System.arraycopy(qkv, k + c, vCache, row, hs);
    }

    /**
     * out[o, o+hs) = softmax(q · K^T · scale) · V over cache rows [0, keys) of the head starting at
     * {@code head}; with a mask, key j counts only where mask[maskRow + j] == 0.
     */
    private static void attend(float[] qkv, int q, float[] kCache, float[] vCache, int head, int hs, int keys,
                               float[] mask, int maskRow, float scale, float[] out, int o, float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < keys; j++) {
            float s = Float.NEGATIVE_INFINITY; // masked: exp() makes it an exact 0
            if (mask == null || mask[maskRow + j] == 0f) {
                s = Simd.dot(qkv, q, kCache, head + j * hs, hs) * scale;
                max = Math.max(max, s);
            }
            scores[j] = s;
        }
        if (max == Float.NEGATIVE_INFINITY) max = 0f; // fully masked row: all weights 0
        float sum = 0;
        for (int j = 0; j < keys; j++) {
            scores[j] = Exp.exp(scores[j] - max);
            sum += scores[j];
        }
        float inv = sum == 0f ? 0f : 1f / sum;
        Arrays.fill(out, o, o + hs, 0f);
        for (int j = 0; j < keys; j++) {
            float w = scores[j] * inv;
            if (w != 0f) Simd.axpy(w, vCache, head + j * hs, out, o, hs);
        }
    }
}
