package io.jgpt.model;

import io.jgpt.ops.Ops;

/** A lookup table of {@code count} vectors of {@code dim} channels ({@code nn.Embedding}); initialised by {@link Init}. */
public final class Embedding extends Module {
    final Parameter weight;

    public Embedding(Ops ops, int count, int dim) {
        super(ops);
        weight = parameter("weight", count, dim);
    }

    void init(Init init) {
        int[] s = weight.shape();
        ops.write(weight.value, init.embedding(s[0] * s[1]));
    }
}
