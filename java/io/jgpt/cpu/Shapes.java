package io.jgpt.cpu;

import io.jgpt.ops.OpShapes;
import io.jgpt.tensor.Tensor;

/**
 * A tensor as the CPU storage an op reads: a {@link CpuTensor} of the expected element type. Shape checks are
 * the backend-independent {@link io.jgpt.ops.OpShapes}.
 */
final class Shapes {

    private Shapes() {}

    /** {@code t} as a CPU F32 tensor. */
    static CpuTensor f32(String op, String name, Tensor t) {
        return cpu(op, name, t, Tensor.DType.F32);
    }

    /** {@code t} as a CPU I32 tensor. */
    static CpuTensor i32(String op, String name, Tensor t) {
        return cpu(op, name, t, Tensor.DType.I32);
    }

    private static CpuTensor cpu(String op, String name, Tensor t, Tensor.DType dtype) {
        OpShapes.expectDType(op, name, t, dtype);
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException(op + ": " + name + " is not a CPU tensor: " + t.getClass().getName());
        }
        return c;
    }
}
