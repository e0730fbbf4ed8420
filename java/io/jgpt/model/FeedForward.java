package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;

/** The position-wise feed-forward network: expand 4×, GELU (tanh approximation), project back. */
public final class FeedForward extends Module {
    final Linear fc;
    final Linear proj;
    private Tensor hidden;

    public FeedForward(Ops ops, int embDim) {
        super(ops);
        fc = child("c_fc", new Linear(ops, embDim, 4 * embDim, true));
        proj = child("c_proj", new Linear(ops, 4 * embDim, embDim, true));
    }

    public Tensor forward(Tensor x) {
        hidden = fc.forward(x);
        Tensor activated = scratch("gelu", hidden.shape());
        ops.geluForward(activated, hidden);
        return proj.forward(activated);
    }

    public void backward(Tensor dout, Tensor dx) {
        Tensor dActivated = scratch("dgelu", hidden.shape());
        Tensor dHidden = scratch("dhidden", hidden.shape());
        ops.zero(dActivated);
        ops.zero(dHidden);
        proj.backward(dout, dActivated);
        ops.geluBackward(dHidden, dActivated, hidden);
        fc.backward(dHidden, dx);
    }

    void init(Init init) {
        fc.init(init, false);
        proj.init(init, true);
    }
}
