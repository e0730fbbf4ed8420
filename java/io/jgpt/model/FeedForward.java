package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/**
 * The position-wise feed-forward network: expand 4×, GELU (tanh approximation), project back. The GELU runs with
 * the expansion (Ops.linearGeluForward) and its backward with the projection's input gradient
 * (Ops.linearBackwardThroughGelu): on the bf16 GPU path both are cuBLASLt epilogues.
 */
public final class FeedForward extends Module {
    final Linear fc;
    final Linear proj;

    /** Saved for the backward pass: the expansion (its output is GELU's input), GELU's output, the projection. */
    public record Saved(Linear.Saved fc, Tensor gelu, Linear.Saved proj) {}

    /** The backward pass's work buffer, shared by every block: the gradient of fc's output (B,T,4C). */
    public record Work(Tensor dHidden) {
        static Work allocate(ActivationArena.Fields f, int batch, int time, int embDim, DType activations) {
            return new Work(f.take("mlp.dhidden", activations, batch, time, 4 * embDim));
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

    /** gelu = GELU(fc(x)), fc's output kept as the pre-activation; returns proj(gelu). */
    public Tensor forward(Saved s) {
        DType a = s.gelu().dtype();
        ops.linearGeluForward(s.gelu(), s.fc().out(), s.fc().in(), fc.weight.readAs(a), fc.bias.readAs(a));
        return proj.forward(s.proj());
    }

    /** Accumulates the input gradient into dx and every parameter gradient. */
    public void backward(Saved s, Work w, Tensor dout, Tensor dx) {
        proj.backward(s.proj(), dout, null); // its weight and bias gradients; the input gradient comes next
        // dHidden = (dout proj.W) * GELU'(fc's output), overwritten; fc's bias gradient from it in the same op.
        ops.linearBackwardThroughGelu(w.dHidden(), fc.bias.grad, dout, proj.weight.readAs(dout.dtype()), s.fc().out());
        fc.backwardWithoutBias(s.fc(), w.dHidden(), dx);
    }

    void init(Init init) {
        fc.init(init, false);
        proj.init(init, true);
    }
}
