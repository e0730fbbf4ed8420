package io.jgpt.train;

/** A (batch, time) block of input ids and the next-token targets, row-major, held on the host. */
public record Batch(int[] inputs, int[] targets, int batch, int time) {
    public Batch {
        if (inputs.length != batch * time || targets.length != batch * time) {
            throw new IllegalArgumentException("batch arrays must hold " + batch + "x" + time + " ids");
        }
    }

    public int tokens() {
        return batch * time;
    }
}
