package io.jgpt.cli;

import io.jgpt.ops.Ops;
import io.jgpt.profile.ChromeTrace;
import io.jgpt.profile.ProfileReport;
import io.jgpt.profile.Profiler;
import java.nio.file.Path;

/** What --profile produces: a per-span table against the device's peaks, and a Chrome trace file. */
final class ProfileOutput {
    private ProfileOutput() {}

    /** Writes the trace and returns the table (peaks: the H100/H200 figures on CUDA, none on the CPU). */
    static ProfileReport report(Profiler profiler, Ops ops, boolean tf32, Path trace) {
        ProfileReport.Peaks peaks = ops.name().startsWith("cuda")
                ? (tf32 ? ProfileReport.Peaks.H200_TF32 : ProfileReport.Peaks.H200_FP32)
                : ProfileReport.Peaks.NONE;
        ChromeTrace.write(profiler.events(), trace);
        return new ProfileReport(profiler, peaks);
    }

    static void print(Profiler profiler, Ops ops, boolean tf32, Path trace) {
        print(report(profiler, ops, tf32, trace), trace);
    }

    static void print(ProfileReport report, Path trace) {
        System.out.print(report.toText());
        System.out.println("Chrome trace (open in https://ui.perfetto.dev): " + trace);
    }
}
