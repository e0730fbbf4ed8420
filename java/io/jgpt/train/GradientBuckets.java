package io.jgpt.train;

import io.jgpt.model.ParameterArena;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * How data parallelism cuts the gradient arena for reduction: consecutive module ranges of
 * {@link ParameterArena#backwardBuckets()} (reverse layer order, the order backward finishes them) merged
 * into buckets of at most {@code maxElements} (a single module larger than that is a bucket of its own), each
 * split into one equal chunk per rank (the last chunk padded with zeros).
 */
public final class GradientBuckets {
    private GradientBuckets() {}

    /** Elements [from, to) of the gradient arena, holding every parameter of {@code modules}. */
    public record Bucket(long from, long to, Set<String> modules, long chunk) {
        public long length() {
            return to - from;
        }
    }

    public static List<Bucket> plan(List<ParameterArena.Range> backwardOrder, long maxElements, int ranks) {
        List<Bucket> out = new ArrayList<>();
        long from = -1, to = -1;
        Set<String> modules = new LinkedHashSet<>();
        for (ParameterArena.Range r : backwardOrder) {
            if (!modules.isEmpty() && to - r.from() > maxElements) {
                out.add(bucket(from, to, modules, ranks));
                modules = new LinkedHashSet<>();
            }
            if (modules.isEmpty()) to = r.to();
            else if (r.to() != from) throw new IllegalArgumentException("module ranges are not contiguous at " + r);
            from = r.from();
            modules.add(r.prefix());
        }
        if (!modules.isEmpty()) out.add(bucket(from, to, modules, ranks));
        return out;
    }

    private static Bucket bucket(long from, long to, Set<String> modules, int ranks) {
        return new Bucket(from, to, Set.copyOf(modules), Math.ceilDiv(to - from, ranks));
    }
}
