package io.jgpt;

import io.jgpt.cpu.Bf16Storage;
import io.jgpt.cpu.CpuOps;
import io.jgpt.cuda.CudaDevice;
import io.jgpt.cuda.CudaOps;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import java.util.Locale;

/** Opens the backend a --device flag names. */
public final class Backends {
    private Backends() {}

    /**
     * @param device "cpu", "cuda" or "cuda:N"
     * @param threads CPU worker threads (the CPU backend only)
     * @param blas cuBLAS binding for CUDA: "auto", "jcublas" or "ffm"
     * @param precision fp32 or bf16 (the bf16-storage emulation) on the CPU; fp32, tf32 or bf16 (sm_80 and
     *                  newer) on CUDA
     */
    public static Ops open(String device, int threads, String blas, Precision precision) {
        int index = check(device);
        if (index < 0) {
            if (threads < 1) throw new JgptException("--threads must be at least 1, got " + threads);
            return switch (precision) {
                case FP32 -> new CpuOps(threads);
                case BF16 -> new Bf16Storage(new CpuOps(threads));
                case TF32 -> throw new JgptException("--precision tf32 is a GPU tensor-core mode; on the CPU use fp32 or bf16");
            };
        }
        if (precision == Precision.BF16 && CudaDevice.computeCapabilityMajor(index) < 8) {
            throw new JgptException("--precision bf16 needs a GPU of compute capability 8.0 or newer (bf16 tensor "
                    + "cores); " + device + " is " + CudaDevice.describe(index) + ": use --precision fp32");
        }
        return new CudaOps(index, blas, precision);
    }

    /** The precision a run gets without --precision: fp32 on the CPU, bf16 on CUDA devices that have bf16 tensor cores. */
    public static Precision defaultPrecision(String device) {
        int index = check(device);
        if (index < 0) return Precision.FP32;
        return CudaDevice.computeCapabilityMajor(index) >= 8 ? Precision.BF16 : Precision.FP32;
    }

    /**
     * Checks that {@code device} names a usable backend without opening it (cheap: commands call it before
     * they write anything). Returns the CUDA device index, or -1 for the CPU.
     */
    public static int check(String device) {
        String d = device.toLowerCase(Locale.ROOT);
        if (d.equals("cpu")) return -1;
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
            return index;
        }
        throw new JgptException("unknown device '" + device + "' (expected cpu, cuda or cuda:N)");
    }
}
