package io.jgpt.cpu;

import io.jgpt.ops.Dropout;

/** Naive double-precision forwards: the independent definitions every CpuOps kernel is checked against. */
final class Reference {

    private Reference() {}

    static double[] embedding(int[] tokens, double[] wte, double[] wpe, int t, int c) {
        double[] out = new double[tokens.length * c];
        for (int row = 0; row < tokens.length; row++) {
            for (int i = 0; i < c; i++) out[row * c + i] = wte[tokens[row] * c + i] + wpe[(row % t) * c + i];
        }
        return out;
    }

    static double[] layerNorm(double[] x, double[] w, double[] b, int n, int c) {
        double[] out = new double[n * c];
        for (int row = 0; row < n; row++) {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) mean += x[row * c + i] / c;
            for (int i = 0; i < c; i++) var += Math.pow(x[row * c + i] - mean, 2) / c;
            for (int i = 0; i < c; i++) {
                out[row * c + i] = (x[row * c + i] - mean) / Math.sqrt(var + 1e-5) * w[i] + b[i];
            }
        }
        return out;
    }

    /** bias may be null. */
    static double[] linear(double[] x, double[] w, double[] bias, int n, int ic, int oc) {
        double[] out = new double[n * oc];
        for (int row = 0; row < n; row++) {
            for (int o = 0; o < oc; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < ic; i++) s += x[row * ic + i] * w[o * ic + i];
                out[row * oc + o] = s;
            }
        }
        return out;
    }

    /**
     * Output, pre-dropout probabilities and per-row log-sum-exp of the scaled scores of causal attention over
     * qkv (B,T,3C): query i sees keys j <= i.
     */
    record Attention(double[] out, double[] probs, double[] lse) {}

    static Attention attention(double[] qkv, int b, int t, int c, int nh, Dropout d) {
        int hs = c / nh;
        double[] out = new double[b * t * c], probs = new double[b * nh * t * t], lse = new double[b * nh * t];
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int row = ((bb * nh + h) * t + i) * t;
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < hs; e++) {
                            s[j] += qkv[(bb * t + i) * 3 * c + h * hs + e] * qkv[(bb * t + j) * 3 * c + c + h * hs + e];
                        }
                        s[j] /= Math.sqrt(hs);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j <= i; j++) sum += Math.exp(s[j] - max);
                    lse[(bb * nh + h) * t + i] = max + Math.log(sum);
                    for (int j = 0; j <= i; j++) {
                        double p = Math.exp(s[j] - max) / sum;
                        probs[row + j] = p;
                        double a = d.active() ? (d.keep(row + j) ? p * d.scale() : 0) : p;
                        for (int e = 0; e < hs; e++) {
                            out[(bb * t + i) * c + h * hs + e] += a * qkv[(bb * t + j) * 3 * c + 2 * c + h * hs + e];
                        }
                    }
                }
            }
        }
        return new Attention(out, probs, lse);
    }

    /** A causal (maxT, maxT) mask: nonzero above the diagonal means "masked". */
    static float[] causalMask(int maxT) {
        float[] m = new float[maxT * maxT];
        for (int i = 0; i < maxT; i++) for (int j = i + 1; j < maxT; j++) m[i * maxT + j] = 1f;
        return m;
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    static double[] crossEntropy(double[] logits, int[] targets, int v) {
        double[] losses = new double[targets.length];
        for (int row = 0; row < targets.length; row++) {
            if (targets[row] == -100) continue;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < v; i++) max = Math.max(max, logits[row * v + i]);
            for (int i = 0; i < v; i++) sum += Math.exp(logits[row * v + i] - max);
            losses[row] = max + Math.log(sum) - logits[row * v + targets[row]];
        }
        return losses;
    }
}
