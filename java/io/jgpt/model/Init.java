package io.jgpt.model;

import java.util.SplittableRandom;

/**
 * Initial weights, drawn on the host in a fixed order from one seeded generator, so runs are reproducible
 * and every backend starts from the same numbers. Two schemes:
 * <ul>
 *   <li>{@link Scheme#BOOK}: PyTorch's defaults, which the book's model gets — N(0, 1) embeddings and
 *       U(±1/√in) linear weights and biases. Used for models with their own output head, as in the book.</li>
 *   <li>{@link Scheme#GPT2}: GPT-2's own (as nanoGPT and llm.c do it) — N(0, 0.02) weights, zero biases, and
 *       residual projections scaled by 1/√(2·layers). Used for tied-head models: with the token embedding
 *       as the output head, N(0, 1) embeddings would give logits of standard deviation √C.</li>
 * </ul>
 * LayerNorm gains start at 1 and shifts at 0 in both.
 */
final class Init {
    enum Scheme { BOOK, GPT2 }

    private final SplittableRandom rng;
    private final Scheme scheme;
    private final int layers;

    Init(long seed, Scheme scheme, int layers) {
        this.rng = new SplittableRandom(seed);
        this.scheme = scheme;
        this.layers = layers;
    }

    float[] embedding(int n) {
        return normal(n, scheme == Scheme.BOOK ? 1.0 : 0.02);
    }

    /** @param residual whether this layer's output is added to the residual stream (c_proj) */
    float[] linearWeight(int in, int n, boolean residual) {
        if (scheme == Scheme.BOOK) return uniform(n, 1.0 / Math.sqrt(in));
        return normal(n, residual ? 0.02 / Math.sqrt(2.0 * layers) : 0.02);
    }

    float[] linearBias(int in, int n) {
        return scheme == Scheme.BOOK ? uniform(n, 1.0 / Math.sqrt(in)) : new float[n];
    }

    private float[] uniform(int n, double bound) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        return a;
    }

    private float[] normal(int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i += 2) {
            // Box–Muller: two independent normals per pair of uniforms. StrictMath: the same weights
            // whether or not the JIT has compiled this loop yet.
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            double r = Math.sqrt(-2 * StrictMath.log(u1)) * std;
            a[i] = (float) (r * StrictMath.cos(2 * Math.PI * u2));
            if (i + 1 < n) a[i + 1] = (float) (r * StrictMath.sin(2 * Math.PI * u2));
        }
        return a;
    }

    static float[] constant(int n, float value) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, value);
        return a;
    }
}
