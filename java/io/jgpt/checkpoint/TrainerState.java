package io.jgpt.checkpoint;

/**
 * Everything besides weights and optimizer moments that a resumed run needs to continue exactly: the next
 * step, the data loader's position, the seed (which fixes shuffling and dropout masks), the optimizer's
 * step count and how many tokens were seen.
 */
public record TrainerState(long step, int epoch, int position, long seed, int optimizerStep, long tokensSeen) {}
