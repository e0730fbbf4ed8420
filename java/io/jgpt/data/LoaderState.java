package io.jgpt.data;

/** Where a {@link BatchLoader} stands: the next batch it serves is batch {@code position} of {@code epoch}. */
public record LoaderState(int epoch, int position) {}
