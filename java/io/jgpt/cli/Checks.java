package io.jgpt.cli;

import io.jgpt.JgptException;

/** Flag validation with messages that name the flag. */
final class Checks {
    private Checks() {}

    static void positive(String flag, long value) {
        if (value <= 0) throw new JgptException(flag + " must be positive, got " + value);
    }

    static void finiteNonNegative(String flag, double value) {
        if (!(Double.isFinite(value) && value >= 0)) throw new JgptException(flag + " must be a finite number >= 0, got " + value);
    }

    static void nonNegative(String flag, long value) {
        if (value < 0) throw new JgptException(flag + " must not be negative, got " + value);
    }
}
