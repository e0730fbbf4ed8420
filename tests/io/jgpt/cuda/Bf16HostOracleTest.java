package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.tensor.Bf16;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Bf16#fromFloat} against cuda_bf16.h's {@code __float2bfloat16_rn}: native-build/bf16_round_host.cu,
 * compiled by nvcc for the host, narrows a large sample of float bit patterns, and every result must match
 * bit for bit. The sample is every bf16 value with each interesting dropped half (zero, one, just below,
 * at and above the tie, all ones: ties, carries into the exponent, overflow, NaN payloads, subnormals) plus
 * four million seeded random patterns. The GPU's {@code cvt.rn.bf16.f32} is compared over all 2^32
 * patterns by Bf16ExhaustiveGpuTest.
 */
class Bf16HostOracleTest {

    private static final int[] DROPPED_HALVES = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF};
    private static final int RANDOM = 4 << 20;

    @Test
    void javaMatchesCudaBitForBit(@TempDir Path tmp) throws Exception {
        String nvcc = KernelCompileTest.findNvcc();
        assumeTrue(nvcc != null, "nvcc not found (set NVCC or put it on PATH): bf16 rounding not compared with CUDA");
        Path exe = tmp.resolve("bf16_round_host");
        run(nvcc, "-O2", "-std=c++17", "-o", exe.toString(),
                Path.of("native-build/bf16_round_host.cu").toAbsolutePath().toString());

        int[] patterns = patterns();
        ByteBuffer in = ByteBuffer.allocate(4 * patterns.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int p : patterns) in.putInt(p);
        Path inFile = tmp.resolve("in.bin"), outFile = tmp.resolve("out.bin");
        Files.write(inFile, in.array());
        run(exe.toString(), inFile.toString(), outFile.toString());

        ByteBuffer out = ByteBuffer.wrap(Files.readAllBytes(outFile)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2L * patterns.length, out.capacity(), "bf16_round_host wrote a short file");
        for (int i = 0; i < patterns.length; i++) {
            short cuda = out.getShort(2 * i);
            short java = Bf16.fromFloat(Float.intBitsToFloat(patterns[i]));
            if (cuda != java) {
                assertEquals(hex(cuda), hex(java), "float bits 0x" + Integer.toHexString(patterns[i]));
            }
        }
    }

    private static int[] patterns() {
        int structured = (1 << 16) * DROPPED_HALVES.length;
        int[] p = new int[structured + RANDOM];
        int n = 0;
        for (int upper = 0; upper < 1 << 16; upper++) {
            for (int lower : DROPPED_HALVES) p[n++] = upper << 16 | lower;
        }
        SplittableRandom r = new SplittableRandom(0xBF16);
        while (n < p.length) p[n++] = r.nextInt();
        return p;
    }

    private static void run(String... command) throws Exception {
        Process proc = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(proc.getInputStream().readAllBytes());
        assertEquals(0, proc.waitFor(), String.join(" ", command) + " failed:\n" + log);
    }

    private static String hex(short bits) {
        return String.format("0x%04x", bits & 0xFFFF);
    }
}
