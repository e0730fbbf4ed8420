package io.jgpt.cli;

import io.jgpt.Backends;
import io.jgpt.ops.Ops;
import picocli.CommandLine.Option;

/** Which backend runs the model: --device, --threads, --blas, --tf32. */
public final class DeviceOptions {
    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda[:index]; default ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", description = "CPU worker threads (default: all available processors).")
    Integer threads;

    @Option(names = "--blas", defaultValue = "auto", description = "cuBLAS binding: auto, jcublas or ffm; default ${DEFAULT-VALUE}.")
    String blas;

    @Option(names = "--tf32", description = "Use TF32 tensor cores for fp32 GEMMs on the GPU.")
    boolean tf32;

    public int threads() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    public Ops open() {
        return Backends.open(device, threads(), blas, tf32);
    }
}
