package io.jgpt.ops;

import java.util.Locale;

/** What the numbers of a run are stored and multiplied in (--precision). */
public enum Precision {
    /** IEEE single precision throughout. */
    FP32,
    /** fp32 storage; the GPU's GEMMs use TF32 tensor cores (10-bit mantissa inputs, fp32 sums). GPU only. */
    TF32,
    /**
     * fp32 master weights, AdamW moments and parameter gradients; weights read, activations and activation
     * gradients stored in bf16; every reduction accumulated in fp32. On the CPU: the bf16-storage emulation
     * that predicts the GPU (io.jgpt.cpu.Bf16Storage).
     */
    BF16;

    /** The flag's spelling: fp32, tf32 or bf16. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a --precision value, naming the flag and the choices when it is none of them. */
    public static Precision parse(String s) {
        for (Precision p : values()) if (p.flag().equals(s.toLowerCase(Locale.ROOT))) return p;
        throw new IllegalArgumentException("--precision must be fp32, tf32 or bf16, got '" + s + "'");
    }
}
