package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base of every layer, in the spirit of PyTorch's {@code nn.Module}: named parameters, named buffers and
 * named children, all living on one backend ({@link Ops}). Layers hold no activations: the model allocates
 * them per (batch, context) shape in an {@link ActivationArena} and hands each layer its record.
 */
public abstract class Module {

    protected Ops ops;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Buffer> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    /** Set on the module that laid out its tree's parameters ({@link #packParameters}); null elsewhere. */
    private ParameterArena arena;

    protected Module(Ops ops) {
        this.ops = ops;
    }

    public Ops ops() {
        return ops;
    }

    /** Declares a parameter; its storage comes when the root module {@linkplain #packParameters packs} them. */
    protected final Parameter parameter(String name, int... shape) {
        if (arena != null) throw new IllegalStateException("parameter " + name + " declared after packParameters()");
        Parameter p = new Parameter(name, shape);
        parameters.put(name, p);
        return p;
    }

    /**
     * Allocates every parameter of this module and its descendants in one {@link ParameterArena} (all zero);
     * called once by the root module (the model) after it has built its children.
     */
    protected final ParameterArena packParameters() {
        if (arena != null) throw new IllegalStateException("parameters are already packed");
        arena = new ParameterArena(ops, namedParameters());
        return arena;
    }

    /** The arena holding this module tree's parameters (only on the module that packed them). */
    public final ParameterArena parameterArena() {
        if (arena == null) throw new IllegalStateException(getClass().getSimpleName() + " does not own a parameter arena");
        return arena;
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

    /** Zeroes every gradient of the model: one pass over the gradient arena. */
    public final void zeroGrad() {
        ops.zero(parameterArena().gradients());
    }

    /**
     * Moves parameters, gradients and buffers to another backend (PyTorch's {@code module.to(device)}): the
     * arenas move whole and every parameter is re-bound to views of the new ones. Activations are dropped
     * ({@link #releaseActivations}) and re-allocated on the new backend at the next forward pass. Only the
     * module that owns the arena moves.
     */
    public final void to(Ops target) {
        if (target == ops) return;
        releaseActivations();
        parameterArena().moveTo(target);
        moveTree(target);
    }

    /** Frees whatever activations this module holds (the model's arenas); called before it moves. */
    protected void releaseActivations() {}

    private void moveTree(Ops target) {
        buffers.values().forEach(b -> b.value = move(b.value, target));
        children.values().forEach(c -> c.moveTree(target));
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
