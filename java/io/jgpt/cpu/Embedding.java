package io.jgpt.cpu;

/** Token + position embedding. Token ids are validated by the caller. */
final class Embedding {

    private static final int ROWS_PER_TASK = 16;
    private static final int COLS_PER_TASK = 64;

    private final Parallel parallel;

    Embedding(Parallel parallel) {
        this.parallel = parallel;
    }

    /** out[b,t] = wte[tokens[b,t]] + wpe[t], for B*T rows of width C; the tables start at teo and peo. */
    void forward(float[] out, int[] tokens, float[] wte, int teo, float[] wpe, int peo, int t, int c) {
        parallel.forRange(tokens.length, ROWS_PER_TASK, (from, to) -> {
            for (int row = from; row < to; row++) {
                int o = row * c, te = teo + tokens[row] * c, pe = peo + (row % t) * c;
                System.arraycopy(wte, te, out, o, c);
                Simd.add(wpe, pe, out, o, c);
            }
        });
    }

    /**
     * Repeated tokens hit the same dwte row, so work is split by columns: each task owns a column range of
     * every row and the scatter needs no locks.
     */
    void backward(float[] dwte, int teo, float[] dwpe, int peo, float[] dout, int[] tokens, int t, int c) {
        parallel.forRange(c, COLS_PER_TASK, (from, to) -> {
            for (int row = 0; row < tokens.length; row++) {
                int o = row * c, te = teo + tokens[row] * c, pe = peo + (row % t) * c;
                for (int i = from; i < to; i++) {
                    dwte[te + i] += dout[o + i];
                    dwpe[pe + i] += dout[o + i];
                }
            }
        });
    }
}
