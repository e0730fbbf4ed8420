package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;

/** LayerNorm over channels with learned scale and shift (eps 1e-5, biased variance). */
public final class LayerNorm extends Module {
    final Parameter weight;
    final Parameter bias;
    private Tensor input;

    public LayerNorm(Ops ops, int dim) {
        super(ops);
        weight = parameter("weight", dim);
        bias = parameter("bias", dim);
    }

    /** Gain 1, shift 0 (the shift's arena storage starts at zero). */
    void init() {
        ops.write(weight.value, Init.constant(weight.shape()[0], 1f));
    }

    public Tensor forward(Tensor x) {
        int[] s = x.shape();
        input = x;
        Tensor y = scratch("out", s);
        ops.layerNormForward(y, scratch("mean", s[0] * s[1]), scratch("rstd", s[0] * s[1]), x, weight.value, bias.value);
        return y;
    }

    /**
     * The residual connection before this layer and the layer in one op: {@code sum} = x + branch (this layer's
     * input from now on), then its normalisation, which it returns.
     */
    public Tensor forwardResidual(Tensor sum, Tensor x, Tensor branch) {
        int[] s = x.shape();
        input = sum;
        Tensor y = scratch("out", s);
        ops.residualLayerNormForward(sum, y, scratch("mean", s[0] * s[1]), scratch("rstd", s[0] * s[1]), x, branch,
                weight.value, bias.value);
        return y;
    }

    /** Accumulates the input gradient into dx (the residual stream's gradient, when the input is a residual sum). */
    public void backward(Tensor dy, Tensor dx) {
        int[] s = input.shape();
        ops.layerNormBackward(dx, weight.grad, bias.grad, dy, input, weight.value,
                scratch("mean", s[0] * s[1]), scratch("rstd", s[0] * s[1]));
    }
}
