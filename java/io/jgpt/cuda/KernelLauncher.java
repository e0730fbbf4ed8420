package io.jgpt.cuda;

/** Queues one kernel by name with packed arguments: the only door from {@link Kernels} to the driver. */
@FunctionalInterface
interface KernelLauncher {
    void launch(String kernel, Launch launch, KernelArgs args);
}
