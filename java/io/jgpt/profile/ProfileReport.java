package io.jgpt.profile;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Per-span-name statistics as a table, heaviest first: calls, time, share of profiled time, achieved
 * bandwidth and arithmetic rate (from the bytes and flops each span declared) and how close those come to
 * the device's peaks. Rates are left blank ("-") where a span declared no bytes or flops, percentages of a
 * peak where no peak was given.
 */
public final class ProfileReport {

    /** Device peaks in GB/s and TFLOP/s; zero means unknown. */
    public record Peaks(double gbPerSecond, double tflopsPerSecond) {
        public static final Peaks NONE = new Peaks(0, 0);
        /** H200 SXM: HBM3e bandwidth with dense fp32 CUDA-core and dense TF32 tensor-core rates. */
        public static final Peaks H200_FP32 = new Peaks(4800, 67);
        public static final Peaks H200_TF32 = new Peaks(4800, 495);
        public static final Peaks H200_BF16 = new Peaks(4800, 989);
    }

    /** One table row; NaN marks a value that does not apply. */
    public record Row(String name, long calls, double totalMillis, double meanMicros, double percentOfTime,
                      double gbPerSecond, double tflopsPerSecond, double percentOfPeakBandwidth,
                      double percentOfPeakFlops) {}

    private final List<Row> rows = new ArrayList<>();
    private final double totalMillis;

    public ProfileReport(List<Profiler.Stat> stats, Peaks peaks) {
        double totalMicros = stats.stream().mapToDouble(s -> s.totalMicros).sum();
        this.totalMillis = totalMicros / 1e3;
        for (Profiler.Stat s : stats.stream().sorted(Comparator.comparingDouble((Profiler.Stat s) -> -s.totalMicros)
                .thenComparing(s -> s.name)).toList()) {
            double gbs = s.bytes > 0 ? s.gbPerSecond() : Double.NaN;
            double tfs = s.flops > 0 ? s.tflopsPerSecond() : Double.NaN;
            rows.add(new Row(s.name, s.calls, s.totalMicros / 1e3, s.meanMicros(),
                    totalMicros == 0 ? Double.NaN : 100 * s.totalMicros / totalMicros, gbs, tfs,
                    percentOf(gbs, peaks.gbPerSecond()), percentOf(tfs, peaks.tflopsPerSecond())));
        }
    }

    public ProfileReport(Profiler profiler, Peaks peaks) {
        this(profiler.stats(), peaks);
    }

    public List<Row> rows() {
        return List.copyOf(rows);
    }

    public double totalMillis() {
        return totalMillis;
    }

    private static final String[] HEADER = {"span", "calls", "total ms", "mean µs", "% time", "GB/s", "TFLOP/s",
            "% peak BW", "% peak FLOP"};

    /** A fixed-width table for terminals and logs, with a total line. */
    public String toText() {
        List<String[]> cells = cells();
        int[] width = new int[HEADER.length];
        for (String[] line : cells) for (int i = 0; i < line.length; i++) width[i] = Math.max(width[i], line[i].length());
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < cells.size(); r++) {
            String[] line = cells.get(r);
            if (r == cells.size() - 1) out.append("-".repeat(sum(width) + 2 * (width.length - 1))).append('\n');
            for (int i = 0; i < line.length; i++) {
                if (i > 0) out.append("  ");
                String pad = " ".repeat(width[i] - line[i].length());
                out.append(i == 0 ? line[i] + pad : pad + line[i]);
            }
            out.append('\n');
            if (r == 0) out.append("-".repeat(sum(width) + 2 * (width.length - 1))).append('\n');
        }
        return out.toString();
    }

    /** A GitHub-flavoured markdown table with a bold total line. */
    public String toMarkdown() {
        List<String[]> cells = cells();
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < cells.size(); r++) {
            String[] line = cells.get(r).clone();
            if (r == cells.size() - 1) line[0] = "**" + line[0] + "**";
            out.append("| ").append(String.join(" | ", line)).append(" |\n");
            if (r == 0) out.append("|---").append("|---:".repeat(HEADER.length - 1)).append("|\n");
        }
        return out.toString();
    }

    private List<String[]> cells() {
        List<String[]> cells = new ArrayList<>();
        cells.add(HEADER);
        long calls = 0;
        for (Row r : rows) {
            calls += r.calls;
            cells.add(new String[] {r.name, Long.toString(r.calls), fmt("%.3f", r.totalMillis),
                    fmt("%.1f", r.meanMicros), fmt("%.1f", r.percentOfTime), fmt("%.1f", r.gbPerSecond),
                    fmt("%.2f", r.tflopsPerSecond), fmt("%.1f", r.percentOfPeakBandwidth),
                    fmt("%.1f", r.percentOfPeakFlops)});
        }
        cells.add(new String[] {"total", Long.toString(calls), fmt("%.3f", totalMillis), "", rows.isEmpty() ? "-" : "100.0",
                "", "", "", ""});
        return cells;
    }

    private static double percentOf(double value, double peak) {
        return peak > 0 && !Double.isNaN(value) ? 100 * value / peak : Double.NaN;
    }

    private static String fmt(String format, double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, format, v);
    }

    private static int sum(int[] xs) {
        int s = 0;
        for (int x : xs) s += x;
        return s;
    }
}
