package io.jgpt.cpu;

import io.jgpt.ops.Dropout;
import java.util.Arrays;

/**
 * Multi-head self-attention core on a packed qkv tensor, one task per (batch, head): a task touches only its
 * own head's channels of out/dqkv and its own (T,T) block of att, so tasks never share memory they write.
 *
 * <p>Layout: qkv (B,T,3C) = [q | k | v]; head h of q at channels h*hs..(h+1)*hs (k and v likewise, offset by
 * C and 2C); att (B,NH,T,T) holds softmax probabilities before dropout; dropout index ((b*NH+h)*T+t)*T+t2.
 */
final class Attention {

    /** Shape of one call: batch, time, channels, heads, and the mask's row length. */
    record Dims(int b, int t, int c, int nh, int maxT) {
        int hs() {
            return c / nh;
        }
    }

    private final Parallel parallel;
    private final Scratch scratch = new Scratch(1);

    Attention(Parallel parallel) {
        this.parallel = parallel;
    }

    void forward(float[] out, float[] att, float[] qkv, float[] mask, Dims d, Dropout dropout) {
        int T = d.t(), C = d.c(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        float keepScale = dropout.active() ? dropout.scale() : 1f;
        parallel.forEach(d.b() * d.nh(), bh -> {
            int b = bh / d.nh(), h = bh % d.nh();
            for (int t = 0; t < T; t++) {
                int q = (b * T + t) * 3 * C + h * hs;
                int row = (bh * T + t) * T;
                // Scores, with masked positions at -inf so that exp() turns them into an exact 0.
                float max = Float.NEGATIVE_INFINITY;
                for (int t2 = 0; t2 < T; t2++) {
                    float s = Float.NEGATIVE_INFINITY;
                    if (mask[t * d.maxT() + t2] == 0f) {
                        s = Simd.dot(qkv, q, qkv, (b * T + t2) * 3 * C + C + h * hs, hs) * scale;
                        max = Math.max(max, s);
                    }
                    att[row + t2] = s;
                }
                if (max == Float.NEGATIVE_INFINITY) max = 0f; // fully masked row: all probabilities 0
                float sum = 0;
                for (int t2 = 0; t2 < T; t2++) {
                    float e = Exp.exp(att[row + t2] - max);
                    att[row + t2] = e;
                    sum += e;
                }
                float inv = sum == 0f ? 0f : 1f / sum;
                int o = (b * T + t) * C + h * hs;
                Arrays.fill(out, o, o + hs, 0f);
                for (int t2 = 0; t2 < T; t2++) {
                    float p = att[row + t2] * inv;
                    att[row + t2] = p;
                    float a = dropout.active() && !dropout.keep(row + t2) ? 0f : p * keepScale;
                    if (a != 0f) Simd.axpy(a, qkv, (b * T + t2) * 3 * C + 2 * C + h * hs, out, o, hs);
                }
            }
        });
    }

    /**
     * With P the saved probabilities and D the dropout factors (0 or 1/(1-p)), the forward computed
     * out = (P∘D) v. Per query row t: dP = D ∘ (dout · v^T); dS = P ∘ (dP - sum(P ∘ dP)); then
     * dq += scale dS k, dk += scale dS^T q, dv += (P∘D)^T dout. Entries with P = 0 (masked) contribute nothing.
     */
    void backward(float[] dqkv, float[] dout, float[] qkv, float[] att, Dims d, Dropout dropout) {
        int T = d.t(), C = d.c(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        float keepScale = dropout.active() ? dropout.scale() : 1f;
        parallel.forEach(d.b() * d.nh(), bh -> {
            int b = bh / d.nh(), h = bh % d.nh();
            float[] dp = scratch.get(0, T);
            for (int t = 0; t < T; t++) {
                int row = (bh * T + t) * T;
                int q = (b * T + t) * 3 * C + h * hs;
                int go = (b * T + t) * C + h * hs;
                float pdp = 0;
                for (int t2 = 0; t2 < T; t2++) {
                    float p = att[row + t2];
                    if (p == 0f) continue;
                    float dropFactor = dropout.active() && !dropout.keep(row + t2) ? 0f : keepScale;
                    int v = (b * T + t2) * 3 * C + 2 * C + h * hs;
                    dp[t2] = dropFactor == 0f ? 0f : dropFactor * Simd.dot(dout, go, qkv, v, hs);
                    if (dropFactor != 0f) Simd.axpy(p * dropFactor, dout, go, dqkv, v, hs);
                    pdp += p * dp[t2];
                }
                for (int t2 = 0; t2 < T; t2++) {
                    float p = att[row + t2];
                    if (p == 0f) continue;
                    float ds = p * (dp[t2] - pdp) * scale;
                    int k = (b * T + t2) * 3 * C + C + h * hs;
                    Simd.axpy(ds, qkv, k, dqkv, q, hs);
                    Simd.axpy(ds, qkv, q, dqkv, k, hs);
                }
            }
        });
    }
}
