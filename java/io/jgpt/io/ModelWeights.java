package io.jgpt.io;

import io.jgpt.model.GPTConfig;
import java.util.Map;

/** A model's shape and its parameters under jgpt's names (see {@link Gpt2Parameters}), as checkpoints hold them. */
public record ModelWeights(GPTConfig shape, Map<String, HostTensor> tensors) {}
