package io.jgpt.train;

import io.jgpt.model.Parameter;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import java.util.List;

/** Global-norm gradient clipping ({@code torch.nn.utils.clip_grad_norm_}). */
public final class GradClip {
    private GradClip() {}

    /** The L2 norm of all gradients together. */
    public static double globalNorm(Ops ops, List<Parameter> params) {
        List<Tensor> grads = params.stream().map(Parameter::grad).toList();
        return Math.sqrt(ops.sumOfSquares(grads));
    }

    /** Sum of squares of all weights: finite exactly when every weight is. */
    public static double weightNormSquared(Ops ops, List<Parameter> params) {
        return ops.sumOfSquares(params.stream().map(Parameter::value).toList());
    }

    /**
     * Scales all gradients so their global norm is at most maxNorm; returns the norm before clipping.
     * Like PyTorch, the factor is maxNorm / (norm + 1e-6) and is applied only when it is below 1.
     */
    public static double clip(Ops ops, List<Parameter> params, double maxNorm) {
        double norm = globalNorm(ops, params);
        double factor = maxNorm / (norm + 1e-6);
        if (factor < 1.0) {
            for (Parameter p : params) ops.scale(p.grad(), (float) factor);
        }
        return norm;
    }
}
