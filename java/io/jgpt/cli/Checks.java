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

    /** A flag naming a weight type, "f32" or "bf16": the caller's value for each. */
    static <T> T f32OrBf16(String flag, String value, T f32, T bf16) {
        return switch (value) {
            case "f32" -> f32;
            case "bf16" -> bf16;
            default -> throw new JgptException(flag + " must be f32 or bf16, got '" + value + "'");
        };
    }
}
