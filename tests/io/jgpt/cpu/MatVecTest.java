package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.tensor.Bf16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The decoding product against a double-precision reference, for both layouts and both element types. */
class MatVecTest {

    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** in and out include sizes that are not multiples of any vector length (the scalar tails). */
    @ParameterizedTest
    @CsvSource({"64,48,1", "768,2304,1", "37,53,3", "96,200,4", "130,77,9", "3072,768,2", "16,1000,5"})
    void matchesTheReference(int in, int out, int rows) {
        Random rng = new Random(31L * in + out + rows);
        float[] w = gaussian(rng, in * out); // the (out, in) matrix, row-major
        float[] x = gaussian(rng, rows * in);
        float[] bias = gaussian(rng, out);
        float[] transposed = new float[in * out]; // (in, out)
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) transposed[i * out + o] = w[o * in + i];
        try (DecodeKernels kernels = new DecodeKernels(2); Arena arena = Arena.ofShared()) {
            for (WeightMatrix.Type type : WeightMatrix.Type.values()) {
                float[] used = type == WeightMatrix.Type.BF16 ? rounded(w) : w;
                double[] expected = reference(used, x, bias, in, out, rows);
                WeightMatrix byOutputs = matrix(w, in, out, WeightMatrix.Layout.ROWS_ARE_OUTPUTS, type, arena);
                WeightMatrix byInputs = matrix(transposed, in, out, WeightMatrix.Layout.ROWS_ARE_INPUTS, type, arena);
                for (WeightMatrix m : new WeightMatrix[] {byOutputs, byInputs}) {
                    float[] y = new float[rows * out];
                    kernels.linear(m, bias, x, y, rows);
                    // float32 accumulation of up to 3072 products of unit normals: error ~ 1e-6 * sqrt(in) of the scale.
                    double scale = Math.sqrt(in);
                    for (int k = 0; k < y.length; k++) {
                        double err = Math.abs(y[k] - expected[k]) / scale;
                        int at = k;
                        assertTrue(err < 2e-6, () -> m.layout() + " " + type + " element " + at + ": " + y[at] + " vs " + expected[at]);
                    }
                    float[] noBias = new float[rows * out];
                    kernels.linear(m, null, x, noBias, rows);
                    for (int k = 0; k < y.length; k++) {
                        double err = Math.abs(noBias[k] + bias[k % out] - expected[k]) / scale;
                        assertTrue(err < 2e-6, m.layout() + " " + type + " without bias");
                    }
                }
            }
        }
    }

    private static WeightMatrix matrix(float[] values, int in, int out, WeightMatrix.Layout layout, WeightMatrix.Type type, Arena arena) {
        if (type == WeightMatrix.Type.F32) return WeightMatrix.ofArray(values, in, out, layout);
        MemorySegment s = arena.allocate(2L * values.length);
        for (int i = 0; i < values.length; i++) s.setAtIndex(SHORT_LE, i, Bf16.fromFloat(values[i]));
        return new WeightMatrix(s, in, out, layout, type);
    }

    private static double[] reference(float[] w, float[] x, float[] bias, int in, int out, int rows) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) s += (double) w[o * in + i] * x[r * in + i];
                y[r * out + o] = s;
            }
        }
        return y;
    }

    private static float[] rounded(float[] a) {
        float[] r = a.clone();
        Bf16.round(r);
        return r;
    }

    private static float[] gaussian(Random rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }
}
