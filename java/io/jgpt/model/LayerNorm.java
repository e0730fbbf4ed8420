package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/** LayerNorm over channels with learned scale and shift (eps 1e-5, biased variance). */
public final class LayerNorm extends Module {
    final Parameter weight;
    final Parameter bias;

    /**
     * What one use of the layer saves for its backward pass: its input (a tensor someone else wrote), its
     * output in the activation dtype, and the per-row mean and 1/std, always fp32.
     */
    public record Saved(Tensor in, Tensor out, Tensor mean, Tensor rstd) {}

    public LayerNorm(Ops ops, int dim) {
        super(ops);
        weight = parameter("weight", dim);
        bias = parameter("bias", dim);
    }

    /** Gain 1, shift 0 (the shift's arena storage starts at zero). */
    void init() {
        ops.write(weight.value, Init.constant(weight.shape()[0], 1f));
    }

    /** The record of this layer applied to {@code x} (B,T,C). */
    Saved allocate(ActivationArena.Fields f, String name, Tensor x, DType activations) {
        int rows = x.rows();
        return new Saved(x, f.take(name + ".out", activations, x.shape()), f.take(name + ".mean", DType.F32, rows),
                f.take(name + ".rstd", DType.F32, rows));
    }

    /** Normalises {@code s.in()} into {@code s.out()}, which it returns. */
    public Tensor forward(Saved s) {
        DType a = s.in().dtype();
        ops.layerNormForward(s.out(), s.mean(), s.rstd(), s.in(), weight.readAs(a), bias.readAs(a));
        return s.out();
    }

    /**
     * The residual connection before this layer and the layer in one op: {@code s.in()} = x + branch, then its
     * normalisation into {@code s.out()}, which it returns.
     */
    public Tensor forwardResidual(Saved s, Tensor x, Tensor branch) {
        DType a = x.dtype();
        ops.residualLayerNormForward(s.in(), s.out(), s.mean(), s.rstd(), x, branch, weight.readAs(a), bias.readAs(a));
        return s.out();
    }

    /** Accumulates the input gradient into dx (the residual stream's gradient, when the input is a residual sum). */
    public void backward(Saved s, Tensor dy, Tensor dx) {
        ops.layerNormBackward(dx, weight.grad, bias.grad, dy, s.in(), weight.readAs(s.in().dtype()), s.mean(), s.rstd());
    }
}
