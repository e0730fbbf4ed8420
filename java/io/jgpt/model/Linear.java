package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/** {@code nn.Linear}: y = x W^T + b with W stored (out, in). */
public final class Linear extends Module {
    final Parameter weight;
    final Parameter bias;
    private final int in;
    private final int out;

    /** What one use of the layer saves: its input (B,T,in), written by someone else, and its output (B,T,out). */
    public record Saved(Tensor in, Tensor out) {}

    public Linear(Ops ops, int in, int out, boolean bias) {
        super(ops);
        this.in = in;
        this.out = out;
        this.weight = parameter("weight", out, in);
        this.bias = bias ? parameter("bias", out) : null;
    }

    /** The record of this layer applied to {@code x} (B,T,in). */
    Saved allocate(ActivationArena.Fields f, String name, Tensor x, DType activations) {
        int[] s = x.shape();
        return new Saved(x, f.take(name, activations, s[0], s[1], out));
    }

    /** {@code s.in()} → {@code s.out()}, which it returns. */
    public Tensor forward(Saved s) {
        DType a = s.in().dtype();
        ops.linearForward(s.out(), s.in(), weight.readAs(a), bias == null ? null : bias.readAs(a));
        return s.out();
    }

    /** Accumulates into dx (nullable) and into this layer's parameter gradients. */
    public void backward(Saved s, Tensor dy, Tensor dx) {
        ops.linearBackward(dx, weight.grad, bias == null ? null : bias.grad, dy, s.in(), weight.readAs(s.in().dtype()));
    }

    /** As {@link #backward}, leaving the bias gradient to whoever took it already (Ops.linearBackwardThroughGelu). */
    void backwardWithoutBias(Saved s, Tensor dy, Tensor dx) {
        ops.linearBackward(dx, weight.grad, null, dy, s.in(), weight.readAs(s.in().dtype()));
    }

    /** @param residual whether the output feeds the residual stream (GPT-2 scales those weights down) */
    void init(Init init, boolean residual) {
        ops.write(weight.value, init.linearWeight(in, out * in, residual));
        if (bias != null) ops.write(bias.value, init.linearBias(in, out));
    }
}
