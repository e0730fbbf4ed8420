package io.jgpt.cli;

import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import io.jgpt.profile.ChromeTrace;
import io.jgpt.profile.ProfileReport;
import io.jgpt.profile.Profiler;
import java.nio.file.Path;

/** What --profile produces: a per-span table against the device's peaks, and a Chrome trace file. */
final class ProfileOutput {
    private ProfileOutput() {}

    /** Writes the trace and returns the table (peaks: the H100/H200 figures on CUDA, none on the CPU). */
    static ProfileReport report(Profiler profiler, Ops ops, Precision precision, Path trace) {
        ChromeTrace.write(profiler.events(), trace);
        return new ProfileReport(profiler, peaks(ops, precision));
    }

    /** The H100/H200 dense figures of the precision's GEMMs on CUDA, none on the CPU. */
    static ProfileReport.Peaks peaks(Ops ops, Precision precision) {
        if (!ops.name().startsWith("cuda")) return ProfileReport.Peaks.NONE;
        return switch (precision) {
            case FP32 -> ProfileReport.Peaks.H200_FP32;
            case TF32 -> ProfileReport.Peaks.H200_TF32;
            case BF16 -> ProfileReport.Peaks.H200_BF16;
        };
    }

    static void print(Profiler profiler, Ops ops, Precision precision, Path trace) {
        print(report(profiler, ops, precision, trace), trace);
    }

    static void print(ProfileReport report, Path trace) {
        System.out.print(report.toText());
        System.out.println("Chrome trace (open in https://ui.perfetto.dev): " + trace);
    }
}
