package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The activations of one (batch, context) shape: an explicit record {@code R} (named fields, each a tensor of
 * a fixed dtype and shape, see the layers' {@code Saved} records) whose tensors are allocated together by
 * {@link Ops#zerosTogether} — one device allocation on CUDA, so their addresses stay fixed for as long as the
 * arena lives, which is what a recorded CUDA graph needs. Nothing is looked up by name while a step runs:
 * a layer reads the fields of the record it is handed, and an op given a tensor of the wrong shape fails.
 *
 * <p>A record is described once, by a function that takes each field from a {@link Fields}; it runs twice:
 * first to list the fields (it gets placeholders carrying only dtype and shape), then to bind the allocated
 * tensors in the same order.
 */
public final class ActivationArena<R> implements AutoCloseable {

    /** Where a record's builder takes its tensors. */
    @FunctionalInterface
    public interface Fields {
        /** The next field: a zero tensor of this dtype and shape, named for error messages. */
        Tensor take(String name, DType dtype, int... shape);
    }

    private final R record;
    private final Ops.Allocation allocation;
    private final long bytes;

    private ActivationArena(R record, Ops.Allocation allocation, long bytes) {
        this.record = record;
        this.allocation = allocation;
        this.bytes = bytes;
    }

    /** Lists the fields {@code build} takes, allocates them together on {@code ops} and builds the record. */
    public static <R> ActivationArena<R> allocate(Ops ops, Function<Fields, R> build) {
        List<String> names = new ArrayList<>();
        List<Ops.TensorSpec> specs = new ArrayList<>();
        build.apply((name, dtype, shape) -> {
            names.add(name);
            specs.add(new Ops.TensorSpec(dtype, shape));
            return new Placeholder(dtype, shape);
        });
        Ops.Allocation allocation = ops.zerosTogether(specs);
        List<Tensor> tensors = allocation.tensors();
        int[] next = {0};
        R record = build.apply((name, dtype, shape) -> {
            int i = next[0]++;
            Ops.TensorSpec listed = i < specs.size() ? specs.get(i) : null;
            if (listed == null || !names.get(i).equals(name) || listed.dtype() != dtype
                    || !Arrays.equals(listed.shape(), shape))
                throw new IllegalStateException("activation field " + i + " (" + name + " " + dtype
                        + Tensor.describe(shape) + ") differs from the one listed ("
                        + (listed == null ? "none" : names.get(i) + " " + listed.dtype() + Tensor.describe(listed.shape()))
                        + "): a record's builder must take the same fields every time");
            return tensors.get(i);
        });
        if (next[0] != specs.size())
            throw new IllegalStateException("the record took " + next[0] + " of its " + specs.size() + " listed fields");
        long bytes = 0;
        for (Tensor t : tensors) bytes += t.bytes();
        return new ActivationArena<>(record, allocation, bytes);
    }

    public R record() {
        return record;
    }

    /** Bytes of all fields together (alignment padding not counted). */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        allocation.close();
    }

    /** A field while the fields are being listed: dtype and shape, no storage. */
    private record Placeholder(DType dtype, int[] shape) implements Tensor {
        @Override
        public int[] shape() {
            return shape.clone();
        }
    }
}
