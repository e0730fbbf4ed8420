package io.jgpt.train;

import io.jgpt.model.ParameterArena;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * ZeRO stage 1: the AdamW update of one rank's shard of the parameters, with moments for that shard only.
 * The shard is the rank's chunk of every {@link GradientBuckets.Bucket} (the elements its reduce-scatter left
 * reduced), cut into pieces at parameter boundaries so that each piece has one weight-decay rule. The update
 * is element-wise, so updating the pieces gives the bits updating whole parameters gives; the step's scalars
 * (learning rate, clip factor, skip, step count) come from the optimizer's step state as usual. These
 * moments are the only ones the rank holds (about 1/ranks of the whole); checkpoints gather them on rank 0.
 */
final class ShardedAdamW {

    /** Arena elements [arenaOffset, arenaOffset + length), at shardOffset in the shard's moments. */
    record Piece(long arenaOffset, int length, long shardOffset, Tensor chunks) {}

    private final ParameterArena arena;
    private final List<Piece> pieces = new ArrayList<>();
    private final Tensor m, v;
    private final long length;

    ShardedAdamW(ParameterArena arena, AdamW.Settings settings, List<DataParallel.Range> owned) {
        this.arena = arena;
        Ops ops = arena.ops();
        List<ParameterArena.Slot> slots = arena.slots();
        long at = 0;
        for (DataParallel.Range r : owned) {
            for (int i = 0; i < slots.size(); i++) {
                // A slot owns the padding up to the next slot (zero weights and gradients, which stay zero).
                long from = slots.get(i).offset(), to = i + 1 < slots.size() ? slots.get(i + 1).offset() : arena.size();
                long a = Math.max(from, r.from()), e = Math.min(to, r.to());
                if (a >= e) continue;
                int n = Math.toIntExact(e - a);
                int[] rows = ArenaChunks.rows(List.of(new ArenaChunks.Span(0, n, settings.decays(slots.get(i).matrix()))));
                pieces.add(new Piece(a, n, at, ops.upload(rows, rows.length / ArenaChunks.COLUMNS, ArenaChunks.COLUMNS)));
                at += n;
            }
        }
        length = at;
        m = ops.zeros(DType.F32, Math.toIntExact(Math.max(at, 1)));
        v = ops.zeros(DType.F32, Math.toIntExact(Math.max(at, 1)));
    }

    /** Updates this rank's shard of the weights from the reduced gradients there, with the decided step state. */
    void apply(AdamW optimizer) {
        Ops ops = arena.ops();
        for (Piece p : pieces) {
            ops.adamw(arenaView(arena.values(), p), arenaView(arena.gradients(), p), shardView(m, p), shardView(v, p),
                    p.chunks(), optimizer.state(), optimizer.config(), false);
        }
    }

    /** Elements of this rank's shard (of each moment). */
    long length() {
        return length;
    }

    /** Takes this rank's shard of whole moments in the arena's layout (a restored checkpoint's). */
    void load(AdamW.Moments full) {
        float[] mine = new float[Math.toIntExact(m.numel())], mine2 = new float[mine.length];
        for (Piece p : pieces) {
            System.arraycopy(full.first(), Math.toIntExact(p.arenaOffset()), mine, Math.toIntExact(p.shardOffset()), p.length());
            System.arraycopy(full.second(), Math.toIntExact(p.arenaOffset()), mine2, Math.toIntExact(p.shardOffset()), p.length());
        }
        arena.ops().write(m, mine);
        arena.ops().write(v, mine2);
    }

    /**
     * This rank's first moment, in shard order: the owned range of each bucket after the other, so bucket b's
     * part starts where the earlier buckets' owned parts end.
     */
    Tensor first() {
        return m;
    }

    Tensor second() {
        return v;
    }

    private Tensor arenaView(Tensor t, Piece p) {
        return arena.ops().view(t, p.arenaOffset(), p.length());
    }

    private Tensor shardView(Tensor t, Piece p) {
        return arena.ops().view(t, p.shardOffset(), p.length());
    }
}
