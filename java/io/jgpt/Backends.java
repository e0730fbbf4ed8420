package io.jgpt;

import io.jgpt.cpu.CpuOps;
import io.jgpt.cuda.CudaDevice;
import io.jgpt.cuda.CudaOps;
import io.jgpt.ops.Ops;
import java.util.Locale;

/** Opens the backend a --device flag names. */
public final class Backends {
    private Backends() {}

    /**
     * @param device "cpu", "cuda" or "cuda:N"
     * @param threads CPU worker threads (the CPU backend only)
     * @param blas cuBLAS binding for CUDA: "auto", "jcublas" or "ffm"
     * @param tf32 TF32 tensor-core GEMMs on CUDA
     */
    public static Ops open(String device, int threads, String blas, boolean tf32) {
        String d = device.toLowerCase(Locale.ROOT);
        if (d.equals("cpu")) {
            if (threads < 1) throw new JgptException("--threads must be at least 1, got " + threads);
            return new CpuOps(threads);
        }
        if (d.equals("cuda") || d.startsWith("cuda:")) {
            int index = 0;
            if (d.startsWith("cuda:")) {
                try {
                    index = Integer.parseInt(d.substring(5));
                } catch (NumberFormatException e) {
                    throw new JgptException("unknown device '" + device + "' (expected cpu, cuda or cuda:N)");
                }
            }
            CudaDevice.Probe probe = CudaOps.available();
            if (!probe.available()) throw new JgptException("--device " + device + " is not usable: " + probe.message());
            return new CudaOps(index, blas, tf32);
        }
        throw new JgptException("unknown device '" + device + "' (expected cpu, cuda or cuda:N)");
    }
}
