package io.jgpt.model;

import io.jgpt.ops.Ops;

/** A lookup table of {@code count} vectors of {@code dim} channels ({@code nn.Embedding}); initialised N(0, 1) as in PyTorch. */
public final class Embedding extends Module {
    final Parameter weight;

    public Embedding(Ops ops, int count, int dim) {
        super(ops);
        weight = parameter("weight", count, dim);
    }

    void init(java.util.SplittableRandom rng) {
        int[] s = weight.shape();
        ops.write(weight.value, Init.normal(rng, s[0] * s[1], 1.0));
    }
}
