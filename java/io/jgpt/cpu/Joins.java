package io.jgpt.cpu;

/** Waiting for the CPU backend's own background threads, which end soon by design. */
final class Joins {
    private Joins() {}

    /**
     * Waits until {@code t} has ended, even through interrupts (the caller's data would otherwise be freed under
     * a thread still using it), and then restores the caller's interrupt status.
     */
    static void uninterruptibly(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
