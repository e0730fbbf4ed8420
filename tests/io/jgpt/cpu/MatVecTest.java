package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.tensor.Bf16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The decoding product against a double-precision reference, for both stored layouts and both element types;
 * the panel copy of an (in, out) matrix against the in-place kernel, bit for bit.
 */
class MatVecTest {

    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** in and out include sizes that are not multiples of any vector length (the scalar tails). */
    @ParameterizedTest
    @CsvSource({"64,48,1", "768,2304,1", "37,53,3", "96,200,4", "130,77,9", "3072,768,2", "16,1000,5", "37,256,4", "130,128,9", "768,768,6"})
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

    /**
     * A product may switch to the panel copy while decoding runs, so the copy must give the in-place kernel's
     * exact bits: in sizes that cut the inputs into uneven slices (37, 130, 3072 inputs), for every row count
     * around the kernels' groups of four, with and without a bias, in float32 and bf16.
     */
    @ParameterizedTest
    @CsvSource({"37,2,1", "64,6,2", "130,2,5", "768,24,4", "3072,2,9", "5,4,3", "48,2,6"})
    void panelCopyGivesTheInPlaceKernelsBits(int in, int panels, int rows) {
        int out = panels * WeightMatrix.panelWidth();
        Random rng = new Random(17L * in + out + rows);
        float[] w = gaussian(rng, in * out); // (in, out)
        float[] x = gaussian(rng, rows * in);
        float[] bias = gaussian(rng, out);
        try (DecodeKernels kernels = new DecodeKernels(2); Arena arena = Arena.ofShared()) {
            for (WeightMatrix.Type type : WeightMatrix.Type.values()) {
                WeightMatrix m = matrix(w, in, out, WeightMatrix.Layout.ROWS_ARE_INPUTS, type, arena);
                assertTrue(m.packable());
                float[][] inPlace = {new float[rows * out], new float[rows * out]};
                kernels.linear(m, bias, x, inPlace[0], rows);
                kernels.linear(m, null, x, inPlace[1], rows);
                WeightMatrix copy = PanelPacking.pack(m, arena);
                assertEquals(WeightMatrix.Layout.PANELS, copy.layout());
                assertEquals(m.bytes(), copy.bytes());
                m.usePanels(copy);
                assertEquals(copy, m.streamed());
                float[][] packed = {new float[rows * out], new float[rows * out]};
                kernels.linear(m, bias, x, packed[0], rows);
                kernels.linear(m, null, x, packed[1], rows);
                assertArrayEquals(inPlace[0], packed[0], type + " " + in + " x " + out + ", " + rows + " rows, with bias");
                assertArrayEquals(inPlace[1], packed[1], type + " " + in + " x " + out + ", " + rows + " rows, without bias");
            }
        }
    }

    @Test
    void onlyInOutMatricesOfWholePanelsArePacked() {
        int p = WeightMatrix.panelWidth();
        float[] w = new float[8 * 4 * p];
        assertFalse(WeightMatrix.ofArray(w, 8, 4 * p, WeightMatrix.Layout.ROWS_ARE_OUTPUTS).packable(), "(out, in) streams as it is");
        assertFalse(WeightMatrix.ofArray(new float[8 * (p + 1)], 8, p + 1, WeightMatrix.Layout.ROWS_ARE_INPUTS).packable(), "a partial panel");
        assertFalse(WeightMatrix.ofArray(new float[8 * 3 * p], 8, 3 * p, WeightMatrix.Layout.ROWS_ARE_INPUTS).packable(), "an odd number of panels");
        WeightMatrix m = WeightMatrix.ofArray(w, 8, 4 * p, WeightMatrix.Layout.ROWS_ARE_INPUTS);
        assertTrue(m.packable());
        WeightMatrix other = WeightMatrix.ofArray(w, 4 * p, 8, WeightMatrix.Layout.ROWS_ARE_OUTPUTS);
        assertThrows(IllegalArgumentException.class, () -> m.usePanels(other), "not a panel copy");
        assertThrows(IllegalArgumentException.class, () -> new WeightMatrix(MemorySegment.ofArray(new float[8 * 3 * p]), 8, 3 * p,
                WeightMatrix.Layout.PANELS, WeightMatrix.Type.F32), "panels come in pairs");
    }

    /** The background copier hands over every packable matrix and leaves the others alone. */
    @Test
    void backgroundPackingHandsOverEveryPackableMatrix() {
        int p = WeightMatrix.panelWidth();
        Random rng = new Random(5);
        WeightMatrix a = WeightMatrix.ofArray(gaussian(rng, 40 * 2 * p), 40, 2 * p, WeightMatrix.Layout.ROWS_ARE_INPUTS);
        WeightMatrix b = WeightMatrix.ofArray(gaussian(rng, 2 * p * 40), 2 * p, 40, WeightMatrix.Layout.ROWS_ARE_OUTPUTS);
        WeightMatrix c = WeightMatrix.ofArray(gaussian(rng, 3 * p * 2 * p), 3 * p, 2 * p, WeightMatrix.Layout.ROWS_ARE_INPUTS);
        try (PanelPacking packing = new PanelPacking(java.util.List.of(a, b, c))) {
            assertEquals(2, packing.count());
            assertFalse(packing.done().isDone(), "nothing copied before start");
            packing.start();
            packing.start(); // once only
            packing.done().join();
            assertEquals(WeightMatrix.Layout.PANELS, a.streamed().layout());
            assertEquals(b, b.streamed());
            assertEquals(WeightMatrix.Layout.PANELS, c.streamed().layout());
        }
        try (PanelPacking none = new PanelPacking(java.util.List.of(b))) {
            assertTrue(none.done().isDone(), "nothing to copy");
        }
        PanelPacking unstarted = new PanelPacking(java.util.List.of(WeightMatrix.ofArray(new float[4 * 2 * p], 4, 2 * p, WeightMatrix.Layout.ROWS_ARE_INPUTS)));
        assertEquals(1, unstarted.count());
        unstarted.close();
        assertTrue(unstarted.done().isCancelled(), "closing unblocks whoever waits");
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
