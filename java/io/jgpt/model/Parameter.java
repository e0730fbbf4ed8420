package io.jgpt.model;

import io.jgpt.tensor.Tensor;

/**
 * A trainable tensor and its gradient, both on the module's backend: views into the model's
 * {@link ParameterArena}, bound when the model lays out its parameters. {@code decay} says whether weight
 * decay may apply (matrices and embeddings; not biases or LayerNorm gains when decay is limited to matrices).
 */
public final class Parameter {
    private final String name;
    private final int[] shape;
    Tensor value;
    Tensor grad;

    Parameter(String name, int[] shape) {
        this.name = name;
        this.shape = shape.clone();
    }

    public String name() {
        return name;
    }

    public Tensor value() {
        return bound(value);
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
