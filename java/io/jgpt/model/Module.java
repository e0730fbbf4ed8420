package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base of every layer, in the spirit of PyTorch's {@code nn.Module}: named parameters, named buffers and
 * named children, all living on one backend ({@link Ops}). Layers also keep the activations their backward
 * pass needs in {@linkplain #scratch scratch tensors} that are allocated once per (batch, context) shape and
 * reused every step.
 */
public abstract class Module {

    protected Ops ops;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Buffer> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private final Map<String, Tensor> scratch = new HashMap<>();

    protected Module(Ops ops) {
        this.ops = ops;
    }

    public Ops ops() {
        return ops;
    }

    protected final Parameter parameter(String name, int... shape) {
        Parameter p = new Parameter(name, ops.zeros(DType.F32, shape), ops.zeros(DType.F32, shape));
        parameters.put(name, p);
        return p;
    }

    protected final Buffer buffer(String name, Tensor value, boolean persistent) {
        Buffer b = new Buffer(name, value, persistent);
        buffers.put(name, b);
        return b;
    }

    protected final <M extends Module> M child(String name, M module) {
        children.put(name, module);
        return module;
    }

    /**
     * A reusable tensor private to this module, reallocated only when the requested shape changes (a new
     * batch or context size). Contents are whatever the last use left.
     */
    protected final Tensor scratch(String key, int... shape) {
        return scratch(key, DType.F32, shape);
    }

    /** Like {@link #scratch(String, int...)} for int32 tensors (token ids). */
    protected final Tensor scratchInt(String key, int... shape) {
        return scratch(key, DType.I32, shape);
    }

    private Tensor scratch(String key, DType dtype, int[] shape) {
        Tensor t = scratch.get(key);
        if (t == null || t.dtype() != dtype || !java.util.Arrays.equals(t.shape(), shape)) {
            if (t != null) t.close();
            t = ops.zeros(dtype, shape);
            scratch.put(key, t);
        }
        return t;
    }

    /** Every parameter of this module and its descendants, in registration order. */
    public final List<Parameter> parameters() {
        return List.copyOf(namedParameters().values());
    }

    /** Parameters keyed by dotted path ("h.0.attn.c_attn.weight"), in registration order. */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        walk("", (prefix, m) -> m.parameters.forEach((n, p) -> out.put(prefix + n, p)));
        return out;
    }

    /** Every buffer of this module and its descendants, keyed by dotted path. */
    public final Map<String, Buffer> buffers() {
        Map<String, Buffer> out = new LinkedHashMap<>();
        walk("", (prefix, m) -> m.buffers.forEach((n, b) -> out.put(prefix + n, b)));
        return out;
    }

    /** Visits this module and then its descendants depth-first, each with its dotted-path prefix. */
    private void walk(String prefix, java.util.function.BiConsumer<String, Module> visitor) {
        visitor.accept(prefix, this);
        children.forEach((n, c) -> c.walk(prefix + n + ".", visitor));
    }

    /** What a checkpoint holds: parameter values plus persistent buffers (never non-persistent buffers). */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedParameters().forEach((n, p) -> out.put(n, p.value));
        buffers().forEach((n, b) -> {
            if (b.persistent()) out.put(n, b.value);
        });
        return out;
    }

    public final void zeroGrad() {
        for (Parameter p : parameters()) ops.zero(p.grad);
    }

    /**
     * Moves parameters, gradients and buffers to another backend (PyTorch's {@code module.to(device)}).
     * Activations are dropped and re-allocated on the new backend at the next forward pass.
     */
    public final void to(Ops target) {
        if (target == ops) return;
        parameters.values().forEach(p -> {
            p.value = move(p.value, target);
            p.grad = move(p.grad, target);
        });
        buffers.values().forEach(b -> b.value = move(b.value, target));
        scratch.values().forEach(Tensor::close);
        scratch.clear();
        children.values().forEach(c -> c.to(target));
        ops = target;
    }

    private Tensor move(Tensor t, Ops target) {
        int n = Math.toIntExact(t.numel());
        Tensor moved = target.zeros(t.dtype(), t.shape());
        if (t.dtype().floating()) {
            float[] host = new float[n];
            ops.read(t, host);
            target.write(moved, host);
        } else {
            int[] host = new int[n];
            ops.read(t, host);
            target.write(moved, host);
        }
        t.close();
        return moved;
    }
}
