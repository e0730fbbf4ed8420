package io.jgpt.data;

import io.jgpt.JgptException;

/**
 * A corpus cut in two: the first {@code 1 - valFraction} for training, the rest for validation, like the book's
 * {@code split_idx = int(train_ratio * len(text))}. A val fraction of 0 leaves an empty validation part.
 */
public record TrainValSplit<T>(T train, T val) {
    public static final double DEFAULT_VAL_FRACTION = 0.1;

    /**
     * Splits raw text before tokenizing. Counts code points, as Python's {@code len(str)} does, so the cut
     * matches the book's even for text outside the BMP and never falls inside a surrogate pair.
     */
    public static TrainValSplit<String> ofText(String text, double valFraction) {
        int codePoints = text.codePointCount(0, text.length());
        int cut = text.offsetByCodePoints(0, splitIndex(codePoints, valFraction));
        return new TrainValSplit<>(text.substring(0, cut), text.substring(cut));
    }

    /** Splits tokens, for shards that are already tokenized; the parts are views, nothing is copied. */
    public static TrainValSplit<TokenSource> ofTokens(TokenSource tokens, double valFraction) {
        int cut = splitIndex(tokens.length(), valFraction);
        return new TrainValSplit<>(tokens.slice(0, cut), tokens.slice(cut, tokens.length()));
    }

    private static int splitIndex(int length, double valFraction) {
        if (!(valFraction >= 0 && valFraction < 1)) {
            throw new JgptException("validation fraction must be in [0, 1), got " + valFraction);
        }
        // 1 - 0.1 is the double 0.9, so the default gives Python's int(0.90 * n) exactly.
        double trainRatio = 1 - valFraction;
        return (int) (trainRatio * length);
    }
}
