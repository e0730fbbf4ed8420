package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/** The position-wise feed-forward network: expand 4×, GELU (tanh approximation), project back. */
public final class FeedForward extends Module {
    final Linear fc;
    final Linear proj;

    /** Saved for the backward pass: the expansion (its output is GELU's input), GELU's output, the projection. */
    public record Saved(Linear.Saved fc, Tensor gelu, Linear.Saved proj) {}

    /** The backward pass's work buffers, (B,T,4C) each, shared by every block: gradients of gelu and of fc's output. */
    public record Work(Tensor dGelu, Tensor dHidden) {
        static Work allocate(ActivationArena.Fields f, int batch, int time, int embDim, DType activations) {
            return new Work(f.take("mlp.dgelu", activations, batch, time, 4 * embDim),
                    f.take("mlp.dhidden", activations, batch, time, 4 * embDim));
        }
    }

    public FeedForward(Ops ops, int embDim) {
        super(ops);
        fc = child("c_fc", new Linear(ops, embDim, 4 * embDim, true));
        proj = child("c_proj", new Linear(ops, 4 * embDim, embDim, true));
    }

    /** The record of this network applied to {@code x} (B,T,C). */
    Saved allocate(ActivationArena.Fields f, String name, Tensor x, DType activations) {
        Linear.Saved expanded = fc.allocate(f, name + ".c_fc", x, activations);
        Tensor gelu = f.take(name + ".gelu", activations, expanded.out().shape());
        return new Saved(expanded, gelu, proj.allocate(f, name + ".c_proj", gelu, activations));
    }

    public Tensor forward(Saved s) {
        ops.geluForward(s.gelu(), fc.forward(s.fc()));
        return proj.forward(s.proj());
    }

    public void backward(Saved s, Work w, Tensor dout, Tensor dx) {
        ops.zero(w.dGelu());
        ops.zero(w.dHidden());
        proj.backward(s.proj(), dout, w.dGelu());
        ops.geluBackward(w.dHidden(), w.dGelu(), s.fc().out());
        fc.backward(s.fc(), w.dHidden(), dx);
    }

    void init(Init init) {
        fc.init(init, false);
        proj.init(init, true);
    }
}
