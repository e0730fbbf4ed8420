package io.jgpt.io;

import java.util.Map;

/** A model's shape and its parameters under jgpt's names (see {@link Gpt2Parameters}), as checkpoints hold them. */
public record ModelWeights(ModelShape shape, Map<String, HostTensor> tensors) {}
