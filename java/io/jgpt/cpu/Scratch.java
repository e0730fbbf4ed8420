package io.jgpt.cpu;

/**
 * Per-thread scratch arrays that grow to the largest size ever asked for and are then reused, so steady-state
 * training allocates nothing. Each slot is an independent buffer; a kernel must not hand a buffer to another
 * thread or hold it across calls.
 */
final class Scratch {

    private final ThreadLocal<float[][]> slots;

    Scratch(int slotCount) {
        slots = ThreadLocal.withInitial(() -> new float[slotCount][0]);
    }

    /** This thread's buffer {@code slot}, at least {@code size} long (contents undefined). */
    float[] get(int slot, int size) {
        float[][] mine = slots.get();
        if (mine[slot].length < size) mine[slot] = new float[size];
        return mine[slot];
    }
}
