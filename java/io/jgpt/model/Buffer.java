package io.jgpt.model;

import io.jgpt.tensor.Tensor;

/**
 * A module tensor that is state but not a parameter (PyTorch's {@code register_buffer}): it moves with the
 * module, is never given to the optimizer, and is saved in the state dict only when {@code persistent}.
 */
public final class Buffer {
    private final String name;
    private final boolean persistent;
    Tensor value;

    Buffer(String name, Tensor value, boolean persistent) {
        this.name = name;
        this.value = value;
        this.persistent = persistent;
    }

    public String name() {
        return name;
    }

    public Tensor value() {
        return value;
    }

    public boolean persistent() {
        return persistent;
    }
}
