package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.TrainingStep;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every parameter is a view at a fixed, aligned offset of one value arena and one gradient arena. */
class ParameterArenaTest {

    private static final GPTConfig CFG = new GPTConfig(13, 8, 8, 2, 2, 0f, true, false);

    @Test
    void slotsFollowTheStateDictOrderAtAlignedOffsetsWithoutOverlap() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            ParameterArena a = m.parameterArena();
            List<ParameterArena.Slot> slots = a.slots();
            assertEquals(List.copyOf(m.namedParameters().keySet()), slots.stream().map(ParameterArena.Slot::name).toList());
            long end = 0;
            for (ParameterArena.Slot s : slots) {
                assertEquals(0, s.offset() % ParameterArena.ALIGN, s.name());
                assertTrue(s.offset() >= end, s.name() + " overlaps its predecessor");
                assertArrayEquals(m.namedParameters().get(s.name()).shape(), s.shape());
                end = s.end();
            }
            assertTrue(a.size() >= end && a.size() - end < ParameterArena.ALIGN);
            assertEquals(a.size(), a.values().numel());
            assertEquals(a.size(), a.gradients().numel());
        }
    }

    @Test
    void parametersAreViewsOfTheArenas() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            ParameterArena a = m.parameterArena();
            float[] values = ops.download(a.values());
            for (ParameterArena.Slot s : a.slots()) {
                float[] p = ops.download(m.namedParameters().get(s.name()).value());
                for (int i = 0; i < p.length; i++) assertEquals(values[(int) s.offset() + i], p[i], 0f, s.name());
            }
            // A write through a parameter's gradient view lands at its slot of the gradient arena.
            ParameterArena.Slot ln = a.slots().stream().filter(s -> s.name().equals("h.1.ln_2.bias")).findFirst().orElseThrow();
            ops.write(m.namedParameters().get("h.1.ln_2.bias").grad(), new float[] {1, 2, 3, 4, 5, 6, 7, 8});
            float[] grads = ops.download(a.gradients());
            float sum = 0;
            for (float g : grads) sum += g;
            assertEquals(36f, sum);
            assertEquals(8f, grads[(int) ln.offset() + 7]);
        }
    }

    @Test
    void backwardBucketsTileTheArenaInReverseModuleOrder() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            ParameterArena a = m.parameterArena();
            List<ParameterArena.Range> buckets = a.backwardBuckets();
            assertEquals(List.of("lm_head", "ln_f", "h.1", "h.0", "wpe", "wte"), buckets.stream().map(ParameterArena.Range::prefix).toList());
            assertEquals(a.size(), buckets.getFirst().to());
            assertEquals(0, buckets.getLast().from());
            for (int i = 0; i + 1 < buckets.size(); i++) assertEquals(buckets.get(i).from(), buckets.get(i + 1).to());
            for (ParameterArena.Slot s : a.slots()) {
                ParameterArena.Range r = buckets.stream().filter(b -> s.name().startsWith(b.prefix() + ".")).findFirst().orElseThrow();
                assertTrue(s.offset() >= r.from() && s.end() <= r.to(), s.name() + " outside bucket " + r);
            }
        }
    }

    @Test
    void paddingStaysZeroThroughTrainingAndMovesWithTheModel() {
        try (CpuOps ops = new CpuOps(1); CpuOps other = new CpuOps(2)) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            TrainingStep step = new TrainingStep(m, new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f)), 1.0);
            Random r = new Random(3);
            int[] in = new int[16], tg = new int[16];
            for (int i = 0; i < 16; i++) {
                in[i] = r.nextInt(13);
                tg[i] = r.nextInt(13);
            }
            for (int s = 0; s < 3; s++) step.run(List.of(new Batch(in, tg, 2, 8)), 1e-2f, s, 5);
            ParameterArena a = m.parameterArena();
            float[] before = ops.download(a.values());
            boolean[] used = new boolean[before.length];
            for (ParameterArena.Slot s : a.slots()) for (long i = s.offset(); i < s.end(); i++) used[(int) i] = true;
            for (int i = 0; i < before.length; i++) if (!used[i]) assertEquals(0f, before[i], "padding element " + i);
            m.to(other);
            assertArrayEquals(before, other.download(m.parameterArena().values()), 0f);
            assertEquals(other, m.parameterArena().ops());
            float[] wte = other.download(m.namedParameters().get("wte.weight").value());
            assertEquals(before[3], wte[3], 0f);
        }
    }

    @Test
    void onlyTheArenaOwnerMoves() {
        try (CpuOps ops = new CpuOps(1); CpuOps other = new CpuOps(1)) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            assertThrows(IllegalStateException.class, () -> m.blocks.get(0).to(other));
        }
    }
}
