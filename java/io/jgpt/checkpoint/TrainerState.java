package io.jgpt.checkpoint;

/**
 * Everything besides weights and optimizer moments that a resumed run needs to continue exactly: the next
 * step, the data loader's position, the seed (which fixes shuffling and dropout masks), the optimizer's
 * step count, how many tokens were seen, and how the data was cut into batches.
 *
 * @param layout null in checkpoints written before jgpt recorded it
 */
public record TrainerState(long step, int epoch, int position, long seed, int optimizerStep, long tokensSeen, Layout layout) {

    /**
     * How the training data was cut into steps. The loader's position only means something for the same
     * cut, so a resumed run takes these from the checkpoint and refuses flags that contradict them.
     *
     * @param microBatches micro-batches per optimizer step over all ranks (--accum times the number of ranks)
     * @param trainTokens tokens in the training part of --data (a different corpus or split changes it)
     */
    public record Layout(int batch, int microBatches, int context, int stride, boolean shuffle, long trainTokens) {}

    public TrainerState(long step, int epoch, int position, long seed, int optimizerStep, long tokensSeen) {
        this(step, epoch, position, seed, optimizerStep, tokensSeen, null);
    }
}
