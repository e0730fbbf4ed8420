package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;

/** {@code nn.Linear}: y = x W^T + b with W stored (out, in). */
public final class Linear extends Module {
    final Parameter weight;
    final Parameter bias;
    private final int in;
    private final int out;
    private Tensor input;

    public Linear(Ops ops, int in, int out, boolean bias) {
        super(ops);
        this.in = in;
        this.out = out;
        this.weight = parameter("weight", out, in);
        this.bias = bias ? parameter("bias", out) : null;
    }

    /** x (B,T,in) → (B,T,out); keeps x for the backward pass. */
    public Tensor forward(Tensor x) {
        int[] s = x.shape();
        input = x;
        Tensor y = scratch("out", s[0], s[1], out);
        ops.linearForward(y, x, weight.value, bias == null ? null : bias.value);
        return y;
    }

    /** Accumulates into dx (nullable) and into this layer's parameter gradients. */
    public void backward(Tensor dy, Tensor dx) {
        ops.linearBackward(dx, weight.grad, bias == null ? null : bias.grad, dy, input, weight.value);
    }

    /**
     * x (B,T,in) → GELU(x W^T + b) into {@code activated}; returns the pre-activation x W^T + b (this layer's
     * output, kept for the backward pass).
     */
    public Tensor forwardGelu(Tensor x, Tensor activated) {
        int[] s = x.shape();
        input = x;
        Tensor y = scratch("out", s[0], s[1], out);
        ops.linearGeluForward(activated, y, x, weight.value, bias.value);
        return y;
    }

    /** As {@link #backward}, leaving the bias gradient to whoever took it already (Ops.linearBackwardThroughGelu). */
    void backwardWithoutBias(Tensor dy, Tensor dx) {
        ops.linearBackward(dx, weight.grad, null, dy, input, weight.value);
    }

    /** @param residual whether the output feeds the residual stream (GPT-2 scales those weights down) */
    void init(Init init, boolean residual) {
        ops.write(weight.value, init.linearWeight(in, out * in, residual));
        if (bias != null) ops.write(bias.value, init.linearBias(in, out));
    }
}
