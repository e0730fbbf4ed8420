package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.ops.Argmax;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * kernels/argmax.cu's reduction replayed on the host, thread by thread: 256 threads scan their strided
 * elements, each warp reduces with shuffle-down (a lane whose source is past the warp keeps its own
 * candidate, as __shfl_down_sync does), warp 0 reduces the warps' winners. On rows with many ties, NaNs and
 * infinities it must pick what {@link Argmax} picks, which shows the tie-break survives the tree's order.
 */
class ArgmaxEmulationTest {

    private static final int THREADS = Launch.THREADS, WARP = 32, NO_INDEX = Integer.MAX_VALUE;

    private static boolean beats(float v, int i, float bv, int bi) {
        return v > bv || (v == bv && i < bi);
    }

    /** One warp's shuffle-down reduction of (values, indices), in place; lane 0 ends with the best. */
    private static void warpBest(float[] bv, int[] bi) {
        for (int o = WARP / 2; o > 0; o >>= 1) {
            float[] v = bv.clone();
            int[] i = bi.clone();
            for (int lane = 0; lane < WARP; lane++) {
                int src = lane + o < WARP ? lane + o : lane;
                if (beats(v[src], i[src], v[lane], i[lane])) {
                    bv[lane] = v[src];
                    bi[lane] = i[src];
                }
            }
        }
    }

    private static int kernel(float[] x) {
        int warps = THREADS / WARP;
        float[] values = new float[WARP];
        int[] indices = new int[WARP];
        for (int w = 0; w < warps; w++) {
            float[] bv = new float[WARP];
            int[] bi = new int[WARP];
            for (int lane = 0; lane < WARP; lane++) {
                bv[lane] = Float.NEGATIVE_INFINITY;
                bi[lane] = NO_INDEX;
                for (int i = w * WARP + lane; i < x.length; i += THREADS) {
                    float v = Float.isNaN(x[i]) ? Float.NEGATIVE_INFINITY : x[i];
                    if (beats(v, i, bv[lane], bi[lane])) {
                        bv[lane] = v;
                        bi[lane] = i;
                    }
                }
            }
            warpBest(bv, bi);
            values[w] = bv[0];
            indices[w] = bi[0];
        }
        float[] bv = new float[WARP];
        int[] bi = new int[WARP];
        for (int lane = 0; lane < WARP; lane++) {
            bv[lane] = lane < warps ? values[lane] : Float.NEGATIVE_INFINITY;
            bi[lane] = lane < warps ? indices[lane] : NO_INDEX;
        }
        warpBest(bv, bi);
        return bi[0] == NO_INDEX ? 0 : bi[0];
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 31, 300, 4099, 50257})
    void theTreePicksWhatTheRulePicks(int v) {
        Random r = new Random(v);
        for (int trial = 0; trial < 20; trial++) {
            float[] x = new float[v];
            for (int i = 0; i < v; i++) {
                int kind = r.nextInt(50);
                x[i] = kind == 0 ? Float.NaN : kind == 1 ? Float.NEGATIVE_INFINITY : (float) r.nextInt(trial % 4 + 2);
            }
            if (trial == 0) java.util.Arrays.fill(x, Float.NaN);
            assertEquals(Argmax.of(x, 0, v), kernel(x), "V = " + v + ", trial " + trial);
        }
    }
}
