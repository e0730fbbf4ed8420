package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole model's backward pass against central finite differences of its loss, on a tiny config. With
 * dropout on, both evaluations of each difference use the same step's masks (they are a pure function of
 * seed, step and site), so the loss is still a deterministic function of the weights.
 */
class ModelGradientCheckTest {

    @ParameterizedTest(name = "dropout {0}")
    @ValueSource(floats = {0f, 0.2f})
    void everyParameterTensorMatchesFiniteDifferences(float drop) {
        GPTConfig cfg = new GPTConfig(11, 6, 8, 2, 2, drop, true, false);
        int b = 2;
        int t = 5;
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(cfg, ops, 42);
            Random r = new Random(drop == 0f ? 1 : 2);
            int[] ids = GPTModelTest.randomIds(r, b * t, cfg.vocabSize());
            int[] targets = GPTModelTest.randomIds(r, b * t, cfg.vocabSize());
            targets[3] = -100;
            DropoutPlan plan = new DropoutPlan(drop, 99, 4, m.dropoutSites());

            m.zeroGrad();
            m.forward(ids, b, t, plan);
            m.lossAndBackward(targets, 1f);

            double eps = 1e-2;
            for (Parameter p : m.parameters()) {
                float[] value = ops.download(p.value());
                float[] grad = ops.download(p.grad());
                // A few coordinates per tensor, always including the largest gradient.
                int largest = 0;
                for (int i = 1; i < grad.length; i++) if (Math.abs(grad[i]) > Math.abs(grad[largest])) largest = i;
                int[] picks = {largest, r.nextInt(value.length), r.nextInt(value.length)};
                for (int i : picks) {
                    float saved = value[i];
                    value[i] = (float) (saved + eps);
                    ops.write(p.value(), value);
                    m.forward(ids, b, t, plan);
                    double up = m.loss(targets);
                    value[i] = (float) (saved - eps);
                    ops.write(p.value(), value);
                    m.forward(ids, b, t, plan);
                    double down = m.loss(targets);
                    value[i] = saved;
                    ops.write(p.value(), value);
                    double numeric = (up - down) / (2 * eps);
                    // Bound: 2% relative, with an absolute floor of 5e-4 for float loss rounding over 2*eps.
                    double err = Math.abs(numeric - grad[i]);
                    assertTrue(err <= 0.02 * Math.max(Math.abs(numeric), Math.abs(grad[i])) + 5e-4,
                            () -> p.name() + "[" + i + "] analytic " + grad[i] + " numeric " + numeric);
                }
            }
        }
    }
}
