package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Every collective of a {@link Communicator} against values computed by hand from each rank's known input
 * (small integers and halves, so every float sum is exact whatever the reduction order). Buffers are host
 * memory; {@code toDevice}/{@code fromDevice} move them for a device communicator (identity for host ones).
 * Returns the failures, empty when every collective is right.
 */
final class Collectives {
    private Collectives() {}

    /** Copies a host segment into the communicator's memory (or returns it), and back. */
    interface Staging {
        MemorySegment in(MemorySegment host);

        void out(MemorySegment memory, MemorySegment host);
    }

    static final Staging HOST = new Staging() {
        public MemorySegment in(MemorySegment host) {
            return host;
        }

        public void out(MemorySegment memory, MemorySegment host) {}
    };

    static List<String> check(Communicator c, Staging staging) {
        int r = c.rank(), n = c.size();
        List<String> failures = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            // all-reduce, F32: rank r holds (r+1)*100 + i, so the sum is 100*n(n+1)/2 + n*i.
            int count = 3001;
            MemorySegment x = floats(a, count, i -> (r + 1) * 100f + i);
            run(c, staging, x, (buf, comm) -> comm.allReduceSum(buf, count, Element.F32));
            expectFloats(failures, "allReduceSum F32", x, count, i -> 100f * n * (n + 1) / 2 + (float) n * i);

            // all-reduce, F64: rank r holds r + 0.5 + i, so the sum is n(n-1)/2 + n/2 + n*i.
            MemorySegment d = a.allocate(JAVA_DOUBLE, 7);
            for (int i = 0; i < 7; i++) d.setAtIndex(JAVA_DOUBLE, i, r + 0.5 + i);
            run(c, staging, d, (buf, comm) -> comm.allReduceSum(buf, 7, Element.F64));
            for (int i = 0; i < 7; i++) {
                double want = n * (n - 1) / 2.0 + n * 0.5 + (double) n * i, got = d.getAtIndex(JAVA_DOUBLE, i);
                if (got != want) failures.add("allReduceSum F64[" + i + "] = " + got + ", want " + want);
            }

            // reduce-scatter: rank r sends r*10 + j for j < n*m; this rank's chunk of the sum at i is
            // sum_q (q*10 + rank*m + i) = 10*n(n-1)/2 + n*(rank*m + i).
            int m = 1000;
            MemorySegment send = floats(a, n * m, j -> r * 10f + j);
            MemorySegment recv = floats(a, m, i -> -1f);
            MemorySegment sendMem = staging.in(send), recvMem = staging.in(recv);
            c.reduceScatterSum(sendMem, recvMem, m, Element.F32);
            staging.out(recvMem, recv);
            expectFloats(failures, "reduceScatterSum", recv, m, i -> 10f * n * (n - 1) / 2 + (float) n * (r * m + i));

            // all-gather in place: rank q's chunk holds q*1000 + i; every other chunk starts as garbage (-7).
            MemorySegment g = floats(a, n * m, j -> j / m == r ? r * 1000f + j % m : -7f);
            run(c, staging, g, (buf, comm) -> comm.allGather(buf, m, Element.F32));
            expectFloats(failures, "allGather", g, n * m, j -> (j / m) * 1000f + j % m);

            // broadcast from the last rank: its bytes (i*7+3 mod 256) replace everyone's zeros.
            int root = n - 1;
            MemorySegment b = a.allocate(128);
            for (int i = 0; i < 128; i++) b.set(JAVA_BYTE, i, r == root ? (byte) (i * 7 + 3) : 0);
            run(c, staging, b, (buf, comm) -> comm.broadcast(buf, 128, Element.BYTE, root));
            for (int i = 0; i < 128; i++) {
                if (b.get(JAVA_BYTE, i) != (byte) (i * 7 + 3)) {
                    failures.add("broadcast byte " + i + " = " + b.get(JAVA_BYTE, i) + ", want " + (byte) (i * 7 + 3));
                    break;
                }
            }

            c.barrier();
        }
        return failures;
    }

    private static void run(Communicator c, Staging staging, MemorySegment host, BiConsumer<MemorySegment, Communicator> op) {
        MemorySegment mem = staging.in(host);
        op.accept(mem, c);
        staging.out(mem, host);
    }

    private static MemorySegment floats(Arena a, int count, Function<Integer, Float> value) {
        MemorySegment s = a.allocate(JAVA_FLOAT, count);
        for (int i = 0; i < count; i++) s.setAtIndex(JAVA_FLOAT, i, value.apply(i));
        return s;
    }

    private static void expectFloats(List<String> failures, String what, MemorySegment s, int count,
                                     Function<Integer, Float> want) {
        for (int i = 0; i < count; i++) {
            float got = s.getAtIndex(JAVA_FLOAT, i), w = want.apply(i);
            if (got != w) {
                failures.add(what + "[" + i + "] = " + got + ", want " + w);
                return;
            }
        }
    }
}
