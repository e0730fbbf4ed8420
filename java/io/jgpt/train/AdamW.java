package io.jgpt.train;

import io.jgpt.model.Parameter;
import io.jgpt.ops.AdamWStep;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW as {@code torch.optim.AdamW} defines it (decoupled weight decay, bias correction). It sees only
 * parameters, never buffers. Moments live on the parameters' backend.
 */
public final class AdamW {

    /** @param decayMatricesOnly false (the book): decay every parameter; true: only 2-D weights and embeddings */
    public record Settings(float beta1, float beta2, float eps, float weightDecay, boolean decayMatricesOnly) {
        public static Settings book(float weightDecay) {
            return new Settings(0.9f, 0.999f, 1e-8f, weightDecay, false);
        }
    }

    private final Ops ops;
    private final List<Parameter> params;
    private final List<Tensor> m = new ArrayList<>();
    private final List<Tensor> v = new ArrayList<>();
    private final Settings settings;
    private int step;

    public AdamW(Ops ops, List<Parameter> params, Settings settings) {
        this.ops = ops;
        this.params = List.copyOf(params);
        this.settings = settings;
        for (Parameter p : params) {
            m.add(ops.zeros(DType.F32, p.shape()));
            v.add(ops.zeros(DType.F32, p.shape()));
        }
    }

    public int stepCount() {
        return step;
    }

    public List<Parameter> parameters() {
        return params;
    }

    public List<Tensor> firstMoments() {
        return m;
    }

    public List<Tensor> secondMoments() {
        return v;
    }

    /** Restores the step counter (moments are restored through {@link #firstMoments()}/{@link #secondMoments()}). */
    public void setStepCount(int step) {
        this.step = step;
    }

    /** One update of every parameter with learning rate lr. */
    public void step(float lr) {
        step(lr, false);
    }

    /** One update of every parameter with learning rate lr; with zeroGrads, every gradient ends up zero. */
    public void step(float lr, boolean zeroGrads) {
        step++;
        AdamWStep base = new AdamWStep(lr, settings.beta1, settings.beta2, settings.eps, settings.weightDecay, step);
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            boolean decay = !settings.decayMatricesOnly || p.isMatrix();
            ops.adamw(p.value(), p.grad(), m.get(i), v.get(i), decay ? base : base.withWeightDecay(0f),
                    zeroGrads);
        }
    }
}
