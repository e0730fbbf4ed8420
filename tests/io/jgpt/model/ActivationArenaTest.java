package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Explicit activation records: fixed fields of fixed dtype and shape, allocated once per batch shape. */
class ActivationArenaTest {

    private record Pair(Tensor a, Tensor b) {}

    @Test
    void aRecordGetsZeroTensorsOfTheDtypesAndShapesItTook() {
        try (CpuOps ops = new CpuOps(1)) {
            ActivationArena<Pair> arena = ActivationArena.allocate(ops,
                    f -> new Pair(f.take("a", DType.F32, 2, 3), f.take("b", DType.I32, 4)));
            Pair p = arena.record();
            assertEquals(DType.F32, p.a().dtype());
            assertArrayEquals(new int[] {2, 3}, p.a().shape());
            assertArrayEquals(new float[6], ops.download(p.a()));
            assertEquals(DType.I32, p.b().dtype());
            assertEquals(4 * 6 + 4 * 4, arena.bytes());
        }
    }

    @Test
    void aBuilderThatTakesOtherFieldsTheSecondTimeIsAnError() {
        try (CpuOps ops = new CpuOps(1)) {
            AtomicInteger calls = new AtomicInteger();
            var e = assertThrows(IllegalStateException.class, () -> ActivationArena.allocate(ops,
                    f -> f.take("x", DType.F32, calls.incrementAndGet() == 1 ? 4 : 5)));
            assertTrue(e.getMessage().contains("x F32[5]") && e.getMessage().contains("x F32[4]"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> ActivationArena.allocate(ops,
                    f -> calls.incrementAndGet() % 2 == 1 ? new Pair(f.take("a", DType.F32, 1), f.take("b", DType.F32, 1))
                            : new Pair(f.take("a", DType.F32, 1), null)));
        }
    }

    /** Training and evaluation keep the record of the shape in use; a new shape gets a new one. */
    @Test
    void theModelReusesAShapesRecordAndRenewsItForAnother() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(new GPTConfig(11, 8, 8, 2, 2, 0f, true, false), ops, 1);
            int[] ids = new int[2 * 4];
            m.forward(ids, 2, 4, DropoutPlan.eval());
            m.forward(ids, 2, 4, DropoutPlan.eval());
            assertEquals(1, m.activationAllocations());
            Tensor other = m.forward(new int[8], 1, 8, DropoutPlan.eval());
            assertArrayEquals(new int[] {1, 8, 11}, other.shape());
            assertEquals(2, m.activationAllocations());
        }
    }
}
