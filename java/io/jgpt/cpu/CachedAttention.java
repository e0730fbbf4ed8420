package io.jgpt.cpu;

import java.util.Arrays;

/**
 * Inference attention against a key/value cache ({@link io.jgpt.ops.Ops#attentionCached}), one task per
 * (batch, head): a task writes only its own head's cache rows and output channels.
 *
 * <p>The arithmetic (scaled dot, max-shifted exp, normalise, accumulate p*v in key order) follows
 * {@link Attention#forward}, so a prefill through the cache reproduces the training forward pass.
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
                int k = (b * d.tn() + t) * 3 * C + C + h * hs, row = head + (d.pos() + t) * hs;
                System.arraycopy(qkv, k, kCache, row, hs);
                System.arraycopy(qkv, k + C, vCache, row, hs);
            }
            float[] scores = scratch.get(0, d.keys());
            for (int t = 0; t < d.tn(); t++) {
                int p = d.pos() + t, q = (b * d.tn() + t) * 3 * C + h * hs;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < d.keys(); j++) {
                    float s = Float.NEGATIVE_INFINITY; // masked: exp() makes it an exact 0
                    if (mask[p * d.maskT() + j] == 0f) {
                        s = Simd.dot(qkv, q, kCache, head + j * hs, hs) * scale;
                        max = Math.max(max, s);
                    }
                    scores[j] = s;
                }
                if (max == Float.NEGATIVE_INFINITY) max = 0f; // fully masked row: all weights 0
                float sum = 0;
                for (int j = 0; j < d.keys(); j++) {
                    scores[j] = Exp.exp(scores[j] - max);
                    sum += scores[j];
                }
                float inv = sum == 0f ? 0f : 1f / sum;
                int o = (b * d.tn() + t) * C + h * hs;
                Arrays.fill(out, o, o + hs, 0f);
                for (int j = 0; j < d.keys(); j++) {
                    float w = scores[j] * inv;
                    if (w != 0f) Simd.axpy(w, vCache, head + j * hs, out, o, hs);
                }
            }
        });
    }
}
