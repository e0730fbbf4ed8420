package io.jgpt.model;

import io.jgpt.tensor.Tensor;

/**
 * A trainable tensor and its gradient, both on the module's backend. {@code decay} says whether weight
 * decay may apply (matrices and embeddings; not biases or LayerNorm gains when decay is limited to matrices).
 */
public final class Parameter {
    private final String name;
    Tensor value;
    Tensor grad;

    Parameter(String name, Tensor value, Tensor grad) {
        this.name = name;
        this.value = value;
        this.grad = grad;
    }

    public String name() {
        return name;
    }

    public Tensor value() {
        return value;
    }

    public Tensor grad() {
        return grad;
    }

    public int[] shape() {
        return value.shape();
    }

    /** Matrices (2-D and up) are what "weight decay on matrices only" decays. */
    public boolean isMatrix() {
        return value.shape().length >= 2;
    }
}
