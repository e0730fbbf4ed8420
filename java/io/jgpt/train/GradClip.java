package io.jgpt.train;

import io.jgpt.model.ParameterArena;
import java.util.List;

/** Global-norm gradient clipping ({@code torch.nn.utils.clip_grad_norm_}) over a whole gradient arena. */
public final class GradClip {
    private GradClip() {}

    /** The L2 norm of all gradients together: one reduction over the gradient arena. */
    public static double globalNorm(ParameterArena arena) {
        return Math.sqrt(arena.ops().sumOfSquares(List.of(arena.gradients())));
    }

    /** Sum of squares of all weights: finite exactly when every weight is. */
    public static double weightNormSquared(ParameterArena arena) {
        return arena.ops().sumOfSquares(List.of(arena.values()));
    }

    /**
     * Scales all gradients so their global norm is at most maxNorm; returns the norm before clipping.
     * Like PyTorch, the factor is maxNorm / (norm + 1e-6) and is applied only when it is below 1.
     */
    public static double clip(ParameterArena arena, double maxNorm) {
        double norm = globalNorm(arena);
        double factor = maxNorm / (norm + 1e-6);
        if (factor < 1.0) arena.ops().scale(arena.gradients(), (float) factor);
        return norm;
    }
}
