package io.jgpt.ops;

/** The work one op or kernel declares to the profiler: bytes it moves to and from memory, and its flops. */
public record Cost(long bytes, double flops) {

    public Cost {
        if (bytes < 0 || flops < 0) throw new IllegalArgumentException("negative cost: " + bytes + " B, " + flops + " flops");
    }

    public Cost plus(Cost other) {
        return new Cost(bytes + other.bytes, flops + other.flops);
    }
}
