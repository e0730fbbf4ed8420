package io.jgpt.cli;

import io.jgpt.Backends;
import io.jgpt.JgptException;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import java.util.List;
import picocli.CommandLine.Option;

/** Which backend runs the model and in what precision: --device, --threads, --blas, --precision (--tf32). */
public final class DeviceOptions {
    private static final List<String> BLAS = List.of("auto", "jcublas", "ffm");

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda[:index]; default ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", description = "CPU worker threads (default: all available processors; CPU only).")
    Integer threads;

    @Option(names = "--blas", defaultValue = "auto", description = "cuBLAS binding: auto, jcublas or ffm (CUDA only); default ${DEFAULT-VALUE}.")
    String blas;

    @Option(names = "--precision", description = "fp32, tf32 (GPU: TF32 tensor-core GEMMs) or bf16 (fp32 master weights, "
            + "bf16 activations; on the CPU an emulation that rounds where the GPU stores bf16); default bf16 on "
            + "CUDA devices of compute capability 8.0 and newer, fp32 elsewhere.")
    String precision;

    @Option(names = "--tf32", description = "Same as --precision tf32.")
    boolean tf32;

    /** The precision the flags ask for (--tf32 is --precision tf32; the two must agree). */
    public Precision precision() {
        Precision p;
        try {
            p = precision != null ? Precision.parse(precision) : tf32 ? Precision.TF32 : Backends.defaultPrecision(device);
        } catch (IllegalArgumentException e) {
            throw new JgptException(e.getMessage());
        }
        if (tf32 && p != Precision.TF32) throw new JgptException("--tf32 contradicts --precision " + precision);
        return p;
    }

    public int threads() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** Refuses flags that cannot take effect on the chosen device, and an unusable device, before any work. */
    public void check() {
        if (!BLAS.contains(blas)) throw new JgptException("--blas must be auto, jcublas or ffm, got '" + blas + "'");
        Precision p = precision();
        boolean cpu = Backends.check(device) < 0;
        if (cpu && p == Precision.TF32) {
            throw new JgptException((tf32 ? "--tf32" : "--precision tf32") + " is a GPU tensor-core mode; on the CPU use fp32 or bf16");
        }
        if (cpu && !blas.equals("auto")) throw new JgptException("--blas applies to --device cuda only");
        if (!cpu && threads != null) throw new JgptException("--threads applies to --device cpu only");
    }

    /** Refuses a flag of a command that only means something on CUDA when the device is the CPU. */
    void cudaOnly(String flag, boolean given) {
        if (given && Backends.check(device) < 0) throw new JgptException(flag + " applies to --device cuda only");
    }

    public Ops open() {
        check();
        return Backends.open(device, threads(), blas, precision());
    }
}
