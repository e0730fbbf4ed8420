package io.jgpt.train;

import io.jgpt.data.BatchLoader;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;

/** Mean cross-entropy of a model over (the first batches of) a data loader, without dropout or gradients. */
public final class Evaluation {
    private Evaluation() {}

    /** @param loss mean over every target token evaluated; {@code tokens}: how many */
    public record Result(double loss, long tokens) {
        public double perplexity() {
            return Math.exp(loss);
        }
    }

    /** @param maxBatches at most this many batches from the loader's first epoch (0 or less: all) */
    public static Result run(GPTModel model, BatchLoader loader, int maxBatches) {
        int n = maxBatches > 0 ? Math.min(maxBatches, loader.batchesPerEpoch()) : loader.batchesPerEpoch();
        double sum = 0;
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            Batch b = loader.batch(0, i);
            model.forward(b.inputs(), b.batch(), b.time(), DropoutPlan.eval());
            sum += (double) model.loss(b.targets()) * b.tokens();
            tokens += b.tokens();
        }
        return new Result(sum / tokens, tokens);
    }
}
