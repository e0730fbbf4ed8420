package io.jgpt.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The shared argument checks and cost formulas, on shape-only tensors (no backend). */
class OpShapesTest {

    /** A tensor that is only a shape and an element type. */
    private record Shape(DType dtype, int... shape) implements Tensor {}

    private static Shape f32(int... shape) {
        return new Shape(DType.F32, shape);
    }

    private static String fails(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void linearChecksReturnTheGemmDimensions() {
        var d = OpShapes.linearForward("linearForward", f32(2, 3, 6), f32(2, 3, 5), f32(6, 5), f32(6));
        assertEquals(new OpShapes.LinearDims(6, 5, 6), d);
        String m = fails(() -> OpShapes.linearForward("linearForward", f32(4, 5), f32(4, 3), f32(6, 3), null));
        assertTrue(m.startsWith("linearForward: out has shape [4, 5]") && m.contains("[4, 6]"), m);
        m = fails(() -> OpShapes.linearBackward("linearBackward", f32(4, 3), f32(6, 3), f32(7), f32(4, 6), f32(4, 3),
                f32(6, 3)));
        assertTrue(m.contains("dbias") && m.contains("[7]") && m.contains("[6]"), m);
    }

    @Test
    void attentionChecksHeadsAndTheLogSumExp() {
        var d = OpShapes.attention("a", f32(2, 5, 18), f32(2, 3, 5), 3, Dropout.NONE);
        assertEquals(new OpShapes.AttentionDims(2, 5, 6, 3), d);
        assertEquals(2, d.hs());
        assertEquals(2L * 3 * (5 * 6 / 2), d.pairs()); // causal: query t sees t + 1 keys
        String m = fails(() -> OpShapes.attention("a", f32(2, 5, 18), f32(2, 4, 5), 4, Dropout.NONE));
        assertTrue(m.contains("cannot be split") && m.contains("4 heads"), m);
        m = fails(() -> OpShapes.attention("a", f32(1, 4, 18), f32(1, 3, 5), 3, Dropout.NONE));
        assertTrue(m.contains("lse") && m.contains("[1, 3, 4]"), m);
        m = fails(() -> OpShapes.attention("a", f32(1, 4, 18), f32(1, 3, 4), 3, null));
        assertTrue(m.contains("dropout"), m);
    }

    @Test
    void cachedAttentionCountsLivePairsAndChecksPositions() {
        var d = OpShapes.attentionCached("c", f32(1, 2, 6), f32(1, 2, 18), f32(1, 3, 10, 2), f32(1, 3, 10, 2),
                f32(12, 12), new Shape(DType.I32, 1, 2), 3);
        assertEquals(10, d.maxKeys(), "the cache is shorter than the mask");
        assertEquals(1L * 3 * (9 + 10), d.live(new int[] {8, 9})); // queries at 8 and 9 see 9 and 10 keys
        assertEquals(1L * 2 * 3 * 10, d.liveBound());
        OpShapes.checkPositions("c", new int[] {8, 9}, d);
        String m = fails(() -> OpShapes.checkPositions("c", new int[] {9, 10}, d));
        assertTrue(m.contains("position 10") && m.contains("cache of 10"), m);
        m = fails(() -> OpShapes.attentionCached("c", f32(1, 2, 6), f32(1, 2, 18), f32(1, 3, 10, 2),
                f32(1, 3, 10, 2), f32(12, 12), f32(1, 2), 3));
        assertTrue(m.contains("positions"), m);
        m = fails(() -> OpShapes.attentionCached("c", f32(1, 2, 6), f32(1, 2, 18), f32(1, 3, 10, 2),
                f32(1, 3, 10, 2), f32(12, 12), new Shape(DType.I32, 1, 1), 3));
        assertTrue(m.contains("positions") && m.contains("[1, 2]"), m);
    }

    @Test
    void embeddingAndStatisticsHaveTheirFixedTypes() {
        Shape ids = new Shape(DType.I32, 2, 4);
        var d = OpShapes.embedding("e", f32(2, 4, 3), "out", ids, f32(9, 3), "wte", f32(6, 3), "wpe");
        assertEquals(new OpShapes.EmbeddingDims(2, 4, 3, 9), d);
        String m = fails(() -> OpShapes.embedding("e", f32(2, 4, 3), "out", f32(2, 4), f32(9, 3), "wte", f32(6, 3),
                "wpe"));
        assertTrue(m.contains("tokens") && m.contains("I32"), m);
        m = fails(() -> OpShapes.embedding("e", f32(2, 4, 3), "out", ids, f32(9, 3), "wte", f32(3, 3), "wpe"));
        assertTrue(m.contains("wpe"), m);
        m = fails(() -> OpShapes.layerNormForward("ln", f32(4, 3), new Shape(DType.BF16, 4), f32(4), f32(4, 3),
                f32(3), f32(3)));
        assertTrue(m.contains("mean") && m.contains("BF16"), m);
    }

    @Test
    void storageIsOneFloatingTypeAcrossOperands() {
        Shape b = new Shape(DType.BF16, 4);
        assertEquals(DType.BF16, OpShapes.storage("add", b, b, b));
        String m = fails(() -> OpShapes.storage("add", b, f32(4)));
        assertTrue(m.contains("BF16") && m.contains("F32"), m);
        m = fails(() -> OpShapes.storage("add", new Shape(DType.I32, 4)));
        assertTrue(m.contains("floating"), m);
    }

    @Test
    void costsCountEachOperandAtItsStorageSize() {
        assertEquals(2 * OpCost.add(1000, DType.BF16).bytes(), OpCost.add(1000, DType.F32).bytes());
        assertEquals(3 * 1000 * 4, OpCost.add(1000, DType.F32).bytes());
        // C is read and written when accumulated, written only when overwritten.
        Cost over = OpCost.gemm(8, 6, 5, false, DType.F32), acc = OpCost.gemm(8, 6, 5, true, DType.F32);
        assertEquals(4L * 8 * 6, acc.bytes() - over.bytes());
        assertEquals(2.0 * 8 * 6 * 5, over.flops());
        assertThrows(IllegalArgumentException.class, () -> new Cost(-1, 0));
    }
}
