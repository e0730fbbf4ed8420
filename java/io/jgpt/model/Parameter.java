package io.jgpt.model;

import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/**
 * A trainable tensor and its gradient, both on the module's backend: views into the model's
 * {@link ParameterArena}, bound when the model lays out its parameters. {@code decay} says whether weight
 * decay may apply (matrices and embeddings; not biases or LayerNorm gains when decay is limited to matrices).
 * Where the backend stores bf16 activations the parameter also has a bf16 compute copy of its value (a view of
 * the arena's {@link ParameterArena#computeCopy()}), which the products read ({@link #readAs}).
 */
public final class Parameter {
    private final String name;
    private final int[] shape;
    Tensor value;
    Tensor grad;
    /** The bf16 copy of value, or null where activations are F32. */
    Tensor copy;
    ParameterArena arena;

    Parameter(String name, int[] shape) {
        this.name = name;
        this.shape = shape.clone();
    }

    public String name() {
        return name;
    }

    /**
     * The fp32 value (the master weights). Whoever gets it may change it, so the bf16 compute copy, if any, is
     * made again from the values before the next forward pass ({@link ParameterArena#valuesChanged}).
     */
    public Tensor value() {
        Tensor v = bound(value);
        arena.valuesChanged();
        return v;
    }

    /**
     * What a forward or backward product whose activations are stored as {@code activations} reads: the bf16
     * compute copy for BF16, the value itself for F32.
     */
    Tensor readAs(DType activations) {
        if (activations != DType.BF16) return bound(value);
        if (copy == null) throw new IllegalStateException("parameter " + name + " has no bf16 copy on this backend");
        return copy;
    }

    public Tensor grad() {
        return bound(grad);
    }

    private Tensor bound(Tensor t) {
        if (t == null) throw new IllegalStateException("parameter " + name + " is not in an arena yet");
        return t;
    }

    public int[] shape() {
        return shape.clone();
    }

    /** Matrices (2-D and up) are what "weight decay on matrices only" decays. */
    public boolean isMatrix() {
        return shape.length >= 2;
    }
}
