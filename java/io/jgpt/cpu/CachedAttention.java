package io.jgpt.cpu;

import java.util.Arrays;

/**
 * Inference attention against a key/value cache, for {@link io.jgpt.ops.Ops#attentionCached} (a (batch, new
 * tokens) block) and for the decoder's rows: each row is a token of its own sequence at its own position (a
 * batch of prompts of different lengths, or a prompt's positions in one call). One task per head writes only
 * its own head's cache rows and output channels. The arithmetic (scaled dot, max-shifted exp, normalise,
 * accumulate p*v in key order) follows {@link Attention#forward}, so a prefill through the cache reproduces
 * the training forward pass.
 */
final class CachedAttention {

    /** Channels, heads, cache rows per head, and the mask's row length (0 without a mask). */
    record Dims(int c, int nh, int cacheT, int maskT) {
        int hs() {
            return c / nh;
        }
    }

    private final Parallel parallel;
    private final Scratch scratch = new Scratch(1);

    CachedAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    /**
     * Row r is a token of sequence seqs[r] at position positions[r]: its key and value go into that
     * sequence's cache row, then its query attends to the sequence's positions j in [0, positions[r]] (with a
     * mask, those where mask[positions[r] * maskT + j] == 0). Caches are (sequences, nh, cacheT, hs); qkv is
     * (rows, 3c), out (rows, c).
     */
    void forward(float[] out, float[] kCache, float[] vCache, float[] qkv, int[] seqs, int[] positions,
                 float[] mask, Dims d) {
        int rows = seqs.length, c = d.c(), nh = d.nh(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        // One task per head (one hand-off per call: decoding makes 12 of these per token). Every key of the
        // head first: a row may attend to other rows of its own sequence written in this call.
        parallel.forEach(nh, h -> {
            for (int r = 0; r < rows; r++) {
                int head = (seqs[r] * nh + h) * d.cacheT() * hs;
                store(qkv, r * 3 * c + c + h * hs, c, kCache, vCache, head + positions[r] * hs, hs);
            }
            for (int r = 0; r < rows; r++) {
                int p = positions[r], keys = p + 1, head = (seqs[r] * nh + h) * d.cacheT() * hs;
                attend(qkv, r * 3 * c + h * hs, kCache, vCache, head, hs, keys, mask, p * d.maskT(), scale, out,
                        r * c + h * hs, scratch.get(0, keys));
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
