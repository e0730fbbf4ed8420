package io.jgpt.cuda;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The chunked classifier on the GPU (bf16: cuBLASLt head GEMMs and the bf16 cross-entropy kernel on bf16 logits
 * chunks; fp32: cuBLAS and the fp32 kernel) against the CPU on the same inputs: bf16 against the bf16-storage mode,
 * fp32 against CpuOps. 300 rows in chunks of 128 (the last ragged, 44), V = 1000, C = 64, some targets ignored.
 * The cross-entropy alone on identical bf16 logits: losses within 1e-5 relative (expf/logf ulps), dlogits within one
 * bf16 ulp (2^-7 |cpu|) plus 1e-6. End to end the logits themselves may differ by one bf16 ulp (the GEMMs sum in
 * another order), which moves a loss by at most about 2^-7 of the largest logit and the gradients by a few ulps
 * of their terms: losses within 2^-6 max |logit| (absolute), dx and the fp32 dweight within 2e-2 of their largest
 * element. fp32: 1e-4 throughout (CudaParityTest's reductions).
 */
@Tag("gpu")
class ClassifierParityTest {

    private static final int N = 300, C = 64, V = 1000, CHUNK = 128;
    private static FusedParity backends;
    private static CudaOps gpu;

    @BeforeAll
    static void open() {
        backends = FusedParity.open("classifier parity");
        gpu = backends.gpu;
    }

    @AfterAll
    static void close() {
        if (backends != null) backends.close();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void crossEntropyOnIdenticalLogits(DType storage) {
        boolean bf16 = storage == DType.BF16;
        Ops cpu = backends.cpu(storage);
        Random r = new Random(31);
        float[] logits = FusedParity.values(r, N * V, 3, bf16);
        int[] targets = targets(r);
        Tensor cl = cpu.zeros(DType.F32, N), cd = cpu.upload(DType.F32, logits, N, V);
        cpu.crossEntropy(cl, cd, cd, cpu.upload(targets, N), 1f / N);
        Tensor gl = gpu.zeros(DType.F32, N), gd = gpu.upload(storage, logits, N, V);
        gpu.crossEntropy(gl, gd, gd, gpu.upload(targets, N), 1f / N);
        FusedParity.assertClose(storage + " losses", cpu.download(cl), gpu.download(gl), 1e-5, 1e-6);
        FusedParity.assertClose(storage + " dlogits (in place)", cpu.download(cd), gpu.download(gd),
                bf16 ? 0x1p-7 : 1e-5, 1e-6);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void chunkedClassifierMatchesTheCpu(DType storage) {
        boolean bf16 = storage == DType.BF16;
        Ops cpu = backends.cpu(storage);
        Random r = new Random(32);
        float[] x = FusedParity.values(r, N * C, 1, bf16), w = FusedParity.values(r, V * C, 0.3, bf16), dx0 = FusedParity.values(r, N * C, 1, bf16);
        int[] targets = targets(r);
        float scale = 1f / N;

        Tensor cLoss = cpu.zeros(DType.F32, N), cdx = cpu.upload(DType.F32, dx0, N, C), cdw = cpu.zeros(DType.F32, V, C);
        Tensor cx = cpu.upload(DType.F32, x, N, C), cw = cpu.upload(DType.F32, w, V, C);
        cpu.classifier(cLoss, cdx, cdw, cx, cw, cpu.upload(targets, N), scale, cpu.zeros(DType.F32, CHUNK, V));
        Tensor cLogits = cpu.zeros(DType.F32, N, V);
        cpu.linearForward(cLogits, cx, cw, null);

        Tensor gLoss = gpu.zeros(DType.F32, N), gdx = gpu.upload(storage, dx0, N, C), gdw = gpu.zeros(DType.F32, V, C);
        gpu.classifier(gLoss, gdx, gdw, gpu.upload(storage, x, N, C), gpu.upload(storage, w, V, C),
                gpu.upload(targets, N), scale, gpu.zeros(storage, CHUNK, V));

        double maxLogit = 0;
        for (float v : cpu.download(cLogits)) maxLogit = Math.max(maxLogit, Math.abs(v));
        float[] want = cpu.download(cLoss), got = gpu.download(gLoss);
        double lossBound = bf16 ? 0x1p-6 * maxLogit : 1e-4 * maxLogit;
        for (int i = 0; i < N; i++) {
            if (!(Math.abs(want[i] - got[i]) <= lossBound))
                throw new AssertionError(storage + " loss " + i + ": cpu " + want[i] + ", gpu " + got[i] + " (bound " + lossBound + ")");
        }
        double rel = bf16 ? 2e-2 : 1e-4;
        FusedParity.assertClose(storage + " dx", cpu.download(cdx), gpu.download(gdx), 0, rel);
        FusedParity.assertClose(storage + " dweight", cpu.download(cdw), gpu.download(gdw), 0, rel);
    }

    private static int[] targets(Random r) {
        int[] t = new int[N];
        for (int i = 0; i < N; i++) t[i] = i % 17 == 5 ? -100 : r.nextInt(V);
        return t;
    }
}
