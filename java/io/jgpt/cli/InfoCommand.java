package io.jgpt.cli;

import io.jgpt.cuda.CudaDevice;
import io.jgpt.cuda.blas.BlasLoader;
import java.util.concurrent.Callable;
import jdk.incubator.vector.FloatVector;
import picocli.CommandLine.Command;

/** What this machine offers jgpt: Java, CPU SIMD width, CUDA driver and devices, kernels, cuBLAS binding. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Show the Java runtime, CPU, CUDA device, kernels and cuBLAS binding.")
public final class InfoCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.printf("jgpt      0.1.0%n");
        System.out.printf("java      %s (%s)%n", Runtime.version(), System.getProperty("java.vm.name"));
        System.out.printf("cpu       %d processors, %s, SIMD %d-bit (%d floats per vector)%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.arch"),
                FloatVector.SPECIES_PREFERRED.vectorBitSize(), FloatVector.SPECIES_PREFERRED.length());
        CudaDevice.Probe probe = CudaDevice.probe();
        System.out.printf("cuda      %s%n", probe.available() ? probe.message() : "unavailable: " + probe.message());
        System.out.printf("kernels   %s%n", CudaDevice.kernelsBuilt() ? "built (fatbin on the classpath)" : "not built (nvcc was absent at build time)");
        System.out.printf("cublas    %s%n", BlasLoader.describe());
        return 0;
    }
}
