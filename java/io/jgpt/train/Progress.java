package io.jgpt.train;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.LoggerFactory;

/**
 * Progress of work that takes more than a few seconds: a redrawn bar on a terminal; otherwise (piped, in a
 * log file) one line at most every {@link #INTERVAL}, so a long run never looks stuck.
 */
public final class Progress implements AutoCloseable {
    public static final Duration INTERVAL = Duration.ofSeconds(10);

    private final String task;
    private final long total;
    private final ProgressBar bar;
    private final Consumer<String> lines;
    private final LongSupplier nanos;
    private final long intervalNanos;
    private final long startNanos;
    private final long startDone;
    private long lastLine;

    Progress(String task, long done, long total, ProgressBar bar, Consumer<String> lines, LongSupplier nanos, Duration interval) {
        this.task = task;
        this.total = total;
        this.bar = bar;
        this.lines = lines;
        this.nanos = nanos;
        this.intervalNanos = interval.toNanos();
        this.startNanos = nanos.getAsLong();
        this.startDone = done;
        this.lastLine = startNanos;
    }

    /**
     * @param done  units already done (a resumed run starts part-way)
     * @param bar   false: never a bar, lines even on a terminal (--no-progress)
     */
    public static Progress start(String task, long done, long total, boolean bar) {
        boolean terminal = System.console() != null && System.console().isTerminal();
        ProgressBar b = bar && terminal
                ? new ProgressBarBuilder().setTaskName(task).setInitialMax(total).startsFrom(done, Duration.ZERO)
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate().build()
                : null;
        var log = LoggerFactory.getLogger(Progress.class);
        return new Progress(task, done, total, b, log::info, System::nanoTime, INTERVAL);
    }

    /** @param detail what the work measures now ("loss 3.210, 1,234 tokens/s"), or empty */
    public void update(long done, String detail) {
        if (bar != null) {
            bar.stepTo(done);
            bar.setExtraMessage(detail.isEmpty() ? "" : " " + detail);
            return;
        }
        long now = nanos.getAsLong();
        if (now - lastLine < intervalNanos || done >= total) return;
        lastLine = now;
        double rate = (done - startDone) / ((now - startNanos) / 1e9);
        String eta = rate > 0 ? ", about " + human((total - done) / rate) + " left" : "";
        lines.accept(String.format("%s: %,d/%,d (%d%%)%s%s", task, done, total, 100 * done / Math.max(1, total),
                detail.isEmpty() ? "" : ", " + detail, eta));
    }

    static String human(double seconds) {
        long s = Math.round(seconds);
        if (s < 120) return s + " s";
        if (s < 7200) return (s + 30) / 60 + " min";
        return String.format("%.1f h", s / 3600.0);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
