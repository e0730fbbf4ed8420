package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;

/**
 * The position-wise feed-forward network: expand 4×, GELU (tanh approximation), project back. The GELU runs with
 * the expansion (Ops.linearGeluForward) and its backward with the projection's input gradient
 * (Ops.linearBackwardThroughGelu): on the bf16 GPU path both are cuBLASLt epilogues.
 */
public final class FeedForward extends Module {
    final Linear fc;
    final Linear proj;
    private Tensor hidden;

    public FeedForward(Ops ops, int embDim) {
        super(ops);
        fc = child("c_fc", new Linear(ops, embDim, 4 * embDim, true));
        proj = child("c_proj", new Linear(ops, 4 * embDim, embDim, true));
    }

    /** GELU(fc(x)), fc's output kept as the pre-activation; returns proj of it. */
    public Tensor forward(Tensor x) {
        int[] s = x.shape();
        Tensor activated = scratch("gelu", s[0], s[1], 4 * s[2]);
        hidden = fc.forwardGelu(x, activated);
        return proj.forward(activated);
    }

    /** Accumulates the input gradient into dx and every parameter gradient. */
    public void backward(Tensor dout, Tensor dx) {
        Tensor dHidden = scratch("dhidden", hidden.shape());
        proj.backward(dout, null); // its weight and bias gradients; the input gradient comes next
        // dHidden = (dout proj.W) * GELU'(fc's output), overwritten; fc's bias gradient from it in the same op.
        ops.linearBackwardThroughGelu(dHidden, fc.bias.grad, dout, proj.weight.value, hidden);
        fc.backwardWithoutBias(dHidden, dx);
    }

    void init(Init init) {
        fc.init(init, false);
        proj.init(init, true);
    }
}
