package io.jgpt.ops;

/**
 * Hyper-parameters of one AdamW update, as PyTorch's {@code torch.optim.AdamW} defines it:
 * <pre>
 *   p -= lr * weightDecay * p
 *   m  = beta1 * m + (1 - beta1) * g
 *   v  = beta2 * v + (1 - beta2) * g^2
 *   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * </pre>
 * StrictMath keeps the bias corrections bit-identical however the JIT compiles this.
 * @param t the 1-based step count used for bias correction
 */
public record AdamWStep(float lr, float beta1, float beta2, float eps, float weightDecay, int t) {

    public float biasCorrection1() {
        return (float) (1.0 - StrictMath.pow(beta1, t));
    }

    public float biasCorrection2() {
        return (float) (1.0 - StrictMath.pow(beta2, t));
    }

    public AdamWStep withWeightDecay(float wd) {
        return new AdamWStep(lr, beta1, beta2, eps, wd, t);
    }
}
