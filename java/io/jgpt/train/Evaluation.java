package io.jgpt.train;

import io.jgpt.data.BatchLoader;
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

    /** Told after each batch; answering false abandons the evaluation (Ctrl-C during a long one). */
    @FunctionalInterface
    public interface Watch {
        boolean proceed(int batchesDone, int batches);

        Watch ALWAYS = (done, total) -> true;
    }

    /** @param maxBatches at most this many batches from the loader's first epoch (0: all) */
    public static Result run(GPTModel model, BatchLoader loader, int maxBatches) {
        return run(model, loader, maxBatches, Watch.ALWAYS);
    }

    /** As {@link #run(GPTModel, BatchLoader, int)}; null when {@code watch} stopped it. */
    public static Result run(GPTModel model, BatchLoader loader, int maxBatches, Watch watch) {
        int n = batches(loader, maxBatches);
        double sum = 0;
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            Batch b = loader.batch(0, i);
            sum += (double) model.evaluate(b.inputs(), b.targets(), b.batch(), b.time()) * b.tokens();
            tokens += b.tokens();
            if (!watch.proceed(i + 1, n)) return null;
        }
        return new Result(sum / tokens, tokens);
    }

    /** How many batches {@link #run} evaluates. */
    public static int batches(BatchLoader loader, int maxBatches) {
        return maxBatches > 0 ? Math.min(maxBatches, loader.batchesPerEpoch()) : loader.batchesPerEpoch();
    }
}
