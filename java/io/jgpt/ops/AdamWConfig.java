package io.jgpt.ops;

/**
 * The constant hyper-parameters of AdamW as PyTorch's {@code torch.optim.AdamW} defines it; the learning
 * rate and the step count t come from the {@link StepState} on the device, because they change every step:
 * <pre>
 *   g  = grad * clip                       (clip from StepState.CLIP)
 *   p -= lr * weightDecay * p              (weightDecay only in chunks marked for decay)
 *   m  = beta1 * m + (1 - beta1) * g
 *   v  = beta2 * v + (1 - beta2) * g^2
 *   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * </pre>
 * The bias corrections are computed in double and rounded to float, the same on every backend; StrictMath
 * keeps them bit-identical however the JIT compiles this.
 */
public record AdamWConfig(float beta1, float beta2, float eps, float weightDecay) {

    public static float biasCorrection(float beta, int t) {
        return (float) (1.0 - StrictMath.pow(beta, t));
    }
}
