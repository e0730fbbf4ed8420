package io.jgpt.cuda;

import io.jgpt.cuda.blas.Blas;
import io.jgpt.cuda.blas.BlasLoader;
import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.Cost;
import io.jgpt.ops.Dropout;
import io.jgpt.ops.Ops;
import io.jgpt.ops.StepState;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;
import java.util.function.Supplier;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUgraphExec;

/**
 * The CUDA backend: every {@link Ops} method as kernels from kernels/*.cu plus cuBLAS GEMMs, all queued on
 * one stream. Row-major tensors are handed to column-major cuBLAS as their transposes (see {@link #gemm}).
 *
 * <p>Nothing in a training step waits for the device: the step's scalars stay in a {@link StepState} tensor.
 * Index errors found on the device (token or target ids out of range; the model also checks ids on the host,
 * with their positions, before they are queued) are written to a small device record and raised as
 * {@link IllegalArgumentException} at the next point that waits for the device: {@link #synchronize},
 * {@link #read}, {@link #sumOfSquares}.
 */
public final class CudaOps implements Ops {

    private static final int NORM_BLOCKS = 256; // fixed, so sumOfSquares is deterministic
    private static final int CE_THREADS = 512;
    private static final int MAX_DYNAMIC_SHARED = 48 * 1024; // static + dynamic, without a per-kernel opt-in
    private static final int ATTENTION_CACHED_STATIC_SHARED = 4 * 32; // attention_cached's reduce[WARP_SIZE]

    private final CudaContext ctx;
    private final Kernels kernels = new Kernels(this::launch);
    private final Blas blas;
    private final EventClock clock;
    private final Scratch scratch;
    private final HostStaging staging;
    private final CudaTensor errors; // {code, position, value}, see kernels/common.cuh
    private Profiler profiler = Profiler.OFF;

    /**
     * @param device     CUDA device index
     * @param blasChoice "auto", "jcublas" or "ffm" (see {@link BlasLoader})
     * @param tf32       TF32 tensor-core GEMMs (about 1e-3 relative error) instead of strict fp32
     */
    public CudaOps(int device, String blasChoice, boolean tf32) {
        this(device, () -> BlasLoader.open(blasChoice), tf32);
    }

    /** With a given cuBLAS binding, opened once the device context is current (tests inject one). */
    CudaOps(int device, Supplier<Blas> openBlas, boolean tf32) {
        this(new CudaContext(device), openBlas, tf32);
    }

    /** On a given context (tests make one on a recording fake of the driver). */
    CudaOps(CudaContext context, Supplier<Blas> openBlas, boolean tf32) {
        ctx = context;
        try {
            blas = openBlas.get();
            blas.setStream(ctx.stream());
            blas.setTf32(tf32);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
        clock = new EventClock(ctx);
        scratch = new Scratch(ctx);
        staging = new HostStaging(ctx);
        errors = (CudaTensor) zeros(DType.I32, 3);
    }

    /** Whether this machine can run the backend, and if not why; never throws. */
    public static CudaDevice.Probe available() {
        return CudaDevice.probe();
    }

    @Override
    public String name() {
        return "cuda:" + ctx.index;
    }

    /** e.g. "cuda:0 NVIDIA H200 (sm_90, 139.8 GiB), driver 13.0, 120.3 GiB free, cuBLAS jcublas2". */
    public String describe() {
        long[] mem = ctx.memoryInfo();
        return String.format("%s %s, driver %s, %.1f GiB free, cuBLAS %s", name(), CudaDevice.describe(ctx.index),
                CudaDevice.driverVersion(), mem[0] / (double) (1L << 30), blas.name());
    }

    // ---- memory -------------------------------------------------------------------------------------

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        CudaTensor t = new CudaTensor(ctx, dtype, shape);
        zero(t);
        return t;
    }

    @Override
    public Tensor upload(DType dtype, float[] data, int... shape) {
        CudaTensor t = new CudaTensor(ctx, floating("upload", dtype), shape);
        write(t, data);
        return t;
    }

    @Override
    public Tensor upload(int[] data, int... shape) {
        CudaTensor t = new CudaTensor(ctx, DType.I32, shape);
        write(t, data);
        return t;
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        return cu(base, null, "view").view(offset, shape);
    }

    @Override
    public void read(Tensor src, float[] dst) {
        CudaTensor c = hostFloats("read", src, dst.length);
        syncAndCheck();
        ctx.copyToHost(Pointer.to(dst), c.ptr(), c.bytes());
    }

    @Override
    public void read(Tensor src, int[] dst) {
        CudaTensor c = cu(src, DType.I32, "read");
        if (dst.length != c.numel()) throw sizeMismatch("read", c, dst.length);
        syncAndCheck();
        ctx.copyToHost(Pointer.to(dst), c.ptr(), c.bytes());
    }

    // Small writes (token batches, targets, the learning rate) are staged through page-locked memory and
    // queued in stream order without waiting; large ones (weights) wait for the stream and copy directly.
    @Override
    public void write(Tensor dst, int[] src) {
        CudaTensor c = cu(dst, DType.I32, "write");
        if (src.length != c.numel()) throw sizeMismatch("write", c, src.length);
        notCapturing("write");
        if (HostStaging.fits(c.bytes())) staging.copy(c.ptr(), src);
        else ctx.copyToDevice(c.ptr(), Pointer.to(src), c.bytes());
    }

    @Override
    public void write(Tensor dst, float[] src) {
        CudaTensor c = hostFloats("write", dst, src.length);
        notCapturing("write");
        if (HostStaging.fits(c.bytes())) staging.copy(c.ptr(), src);
        else ctx.copyToDevice(c.ptr(), Pointer.to(src), c.bytes());
    }

    /** A graph replays what was captured, so host data copied during a capture would be stale at replay. */
    private void notCapturing(String op) {
        if (ctx.capturing())
            throw new IllegalStateException(op + " during a graph capture: copy a step's inputs to the device before capturing");
    }

    /** A tensor whose elements travel as host floats; BF16's conversion on the host is not implemented yet. */
    private CudaTensor hostFloats(String op, Tensor t, int hostLength) {
        CudaTensor c = cu(t, null, op);
        if (c.dtype() != DType.F32)
            throw new IllegalArgumentException(op + ": " + c + " cannot be copied as host floats (F32 only)");
        if (hostLength != c.numel()) throw sizeMismatch(op, c, hostLength);
        return c;
    }

    private static DType floating(String op, DType dtype) {
        if (!dtype.floating())
            throw new IllegalArgumentException(op + ": an " + dtype + " tensor is made from an int[], not floats");
        return dtype;
    }

    @Override
    public void zero(Tensor t) {
        CudaTensor c = cu(t, null, "zero");
        // One store per element, as wide as the element (all-zero bits are 0 in every dtype).
        ctx.driver().zeroAsync(c.ptr(), c.numel(), c.dtype().bytes(), ctx.stream());
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        CudaTensor d = cu(dst, null, "copy");
        if (d.dtype() == DType.BF16 && src.dtype() == DType.F32) {
            // Narrowing (the bf16 copy of fp32 weights), rounded to nearest even on the device.
            CudaTensor s = cu(src, DType.F32, "copy");
            if (d.numel() != s.numel()) throw sizeMismatch("copy", d, s.numel());
            long n = d.numel();
            kernels.bf16Narrow(Launch.elementwise(n, new Cost(6 * n, 0)), d.ptr(), s.ptr(), n);
            return;
        }
        CudaTensor s = cu(src, dst.dtype(), "copy");
        if (d.numel() != s.numel()) throw sizeMismatch("copy", d, s.numel());
        if (d == s) return;
        ctx.driver().copyDeviceAsync(d.ptr(), s.ptr(), d.bytes(), ctx.stream());
    }

    // ---- ops ----------------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe) {
        int[] bt = rank(tokens, 2, "embeddingForward tokens");
        int B = bt[0], T = bt[1], V = wte.shape()[0], C = wte.lastDim();
        check(wte, DType.F32, "embeddingForward wte", V, C);
        checkEmbedding("embeddingForward", wpe, T, C);
        check(tokens, DType.I32, "embeddingForward tokens", B, T);
        check(out, DType.F32, "embeddingForward out", B, T, C);
        long n = (long) B * T * C;
        kernels.embeddingForward(Launch.elementwise(n, new Cost(12 * n, 0)), ptr(out), ptr(tokens), ptr(wte), ptr(wpe),
                B * T, T, C, V, ptr(errors));
    }

    @Override
    public void embeddingBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
        int[] bt = rank(tokens, 2, "embeddingBackward tokens");
        int B = bt[0], T = bt[1], V = dwte.shape()[0], C = dwte.lastDim();
        check(dwte, DType.F32, "embeddingBackward dwte", V, C);
        checkEmbedding("embeddingBackward", dwpe, T, C);
        check(tokens, DType.I32, "embeddingBackward tokens", B, T);
        check(dout, DType.F32, "embeddingBackward dout", B, T, C);
        long n = (long) B * T * C;
        kernels.embeddingBackwardWte(Launch.elementwise(n, new Cost(12 * n, n)), ptr(dwte), ptr(dout), ptr(tokens),
                B * T, C, V);
        long tc = (long) T * C;
        kernels.embeddingBackwardWpe(Launch.elementwise(tc, new Cost(4 * (n + 2 * tc), n)), ptr(dwpe), ptr(dout), B, T,
                C);
    }

    private static void checkEmbedding(String op, Tensor wpe, int T, int C) {
        int[] s = rank(wpe, 2, op + " wpe");
        if (s[1] != C || s[0] < T)
            throw new IllegalArgumentException(op + ": wpe " + Tensor.describe(s) + " cannot hold T=" + T
                    + ", C=" + C);
        checkDType(wpe, DType.F32, op + " wpe");
    }

    @Override
    public void layerNormForward(Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor weight, Tensor bias) {
        int N = in.rows(), C = in.lastDim();
        checkDType(in, DType.F32, "layerNormForward in");
        check(out, DType.F32, "layerNormForward out", in.shape());
        checkNumel(mean, N, "layerNormForward mean");
        checkNumel(rstd, N, "layerNormForward rstd");
        check(weight, DType.F32, "layerNormForward weight", C);
        check(bias, DType.F32, "layerNormForward bias", C);
        long n = (long) N * C;
        kernels.layernormForward(Launch.warpPerRow(N, new Cost(4 * (3 * n + 2L * C + 2L * N), 8.0 * n)), ptr(out),
                ptr(mean), ptr(rstd), ptr(in), ptr(weight), ptr(bias), N, C);
    }

    @Override
    public void layerNormBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in,
                                  Tensor weight, Tensor mean, Tensor rstd) {
        int N = in.rows(), C = in.lastDim();
        checkDType(in, DType.F32, "layerNormBackward in");
        check(din, DType.F32, "layerNormBackward din", in.shape());
        check(dout, DType.F32, "layerNormBackward dout", in.shape());
        check(weight, DType.F32, "layerNormBackward weight", C);
        check(dweight, DType.F32, "layerNormBackward dweight", C);
        check(dbias, DType.F32, "layerNormBackward dbias", C);
        checkNumel(mean, N, "layerNormBackward mean");
        checkNumel(rstd, N, "layerNormBackward rstd");
        long n = (long) N * C;
        kernels.layernormBackwardInput(Launch.warpPerRow(N, new Cost(4 * (5 * n + 2L * N + C), 14.0 * n)), ptr(din),
                ptr(dout), ptr(in), ptr(weight), ptr(mean), ptr(rstd), N, C);
        kernels.layernormBackwardParams(Launch.columnTiles(C, new Cost(4 * (2 * n + 2L * N + 4L * C), 6.0 * n)),
                ptr(dweight), ptr(dbias), ptr(dout), ptr(in), ptr(mean), ptr(rstd), N, C);
    }

    @Override
    public void linearForward(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        int N = in.rows(), IC = in.lastDim();
        int[] w = rank(weight, 2, "linearForward weight");
        int OC = w[0];
        checkDType(in, DType.F32, "linearForward in");
        check(weight, DType.F32, "linearForward weight", OC, IC);
        check(out, DType.F32, "linearForward out", withLast(in.shape(), OC));
        // out = in @ weight^T
        gemm("linear_forward", false, true, N, OC, IC, in, IC, weight, IC, 0f, out, OC);
        if (bias != null) {
            check(bias, DType.F32, "linearForward bias", OC);
            long n = (long) N * OC;
            kernels.biasAdd(Launch.elementwise(n, new Cost(4 * (2 * n + OC), n)), ptr(out), ptr(bias), N, OC);
        }
    }

    @Override
    public void linearBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight) {
        int N = in.rows(), IC = in.lastDim();
        int[] w = rank(weight, 2, "linearBackward weight");
        int OC = w[0];
        checkDType(in, DType.F32, "linearBackward in");
        check(weight, DType.F32, "linearBackward weight", OC, IC);
        check(dweight, DType.F32, "linearBackward dweight", OC, IC);
        check(dout, DType.F32, "linearBackward dout", withLast(in.shape(), OC));
        if (din != null) {
            check(din, DType.F32, "linearBackward din", in.shape());
            // din += dout @ weight
            gemm("linear_backward_input", false, false, N, IC, OC, dout, OC, weight, IC, 1f, din, IC);
        }
        // dweight += dout^T @ in
        gemm("linear_backward_weight", true, false, OC, IC, N, dout, OC, in, IC, 1f, dweight, IC);
        if (dbias != null) {
            check(dbias, DType.F32, "linearBackward dbias", OC);
            long n = (long) N * OC;
            kernels.columnSumAccumulate(Launch.columnTiles(OC, new Cost(4 * (n + 2L * OC), n)), ptr(dbias), ptr(dout),
                    N, OC);
        }
    }

    /** Geometry of one attention call, validated against every tensor it touches. */
    private record Heads(int B, int T, int C, int NH, int hs) {
        long btc() {
            return (long) B * T * C;
        }

        long rows() {
            return (long) B * NH * T;
        }

        /** Visible (t, t2 <= t) pairs of all heads. */
        long pairs() {
            return (long) B * NH * T * (T + 1L) / 2;
        }

        /** Scores are scaled by 1/sqrt(head size). */
        float scale() {
            return (float) (1.0 / Math.sqrt(hs));
        }
    }

    private static Heads heads(String op, Tensor qkv, Tensor lse, int nHead) {
        int[] s = rank(qkv, 3, op + " qkv");
        int B = s[0], T = s[1], C3 = s[2];
        if (nHead <= 0 || C3 % (3 * nHead) != 0)
            throw new IllegalArgumentException(op + ": qkv width " + C3 + " is not 3 * nHead(" + nHead + ") * hs");
        int C = C3 / 3;
        if (qkv.dtype() != DType.F32 && qkv.dtype() != DType.BF16)
            throw new IllegalArgumentException(op + ": qkv must be F32 or BF16, got " + qkv);
        check(lse, DType.F32, op + " lse", B, nHead, T);
        return new Heads(B, T, C, nHead, C / nHead);
    }

    // Fused flash attention (kernels/flash_attention_*.cu): q, k, v read straight from qkv, out written as
    // (B,T,C), nothing of size T*T in memory; see FlashGeometry for the launch shapes.
    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor qkv, int nHead, Dropout dropout) {
        Heads h = heads("attentionForward", qkv, lse, nHead);
        check(out, qkv.dtype(), "attentionForward out", h.B, h.T, h.C);
        // Per visible pair: a q.k dot and a p*v update (4 hs flops) plus the softmax's exp, max and sum.
        int element = qkv.dtype().bytes();
        Cost cost = new Cost(element * 4 * h.btc() + 4 * h.rows(), 4.0 * h.pairs() * h.hs + 4.0 * h.pairs());
        // bf16 storage runs on tensor cores (one geometry, hs <= 64); fp32 on CUDA cores.
        Launch launch = qkv.dtype() == DType.BF16 ? FlashGeometry.bf16Forward("attentionForward", h.B, h.T, h.NH, h.hs, cost)
                : FlashGeometry.of("attentionForward", h.B, h.T, h.NH, h.hs).forwardLaunch(cost);
        kernels.flashAttentionForward(qkv.dtype(), launch, ptr(out), ptr(lse), ptr(qkv), h.B, h.T, h.NH, h.hs,
                h.scale(), dropout.key(), dropout.threshold(), dropout.scale());
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor out, Tensor lse, int nHead,
                                  Dropout dropout) {
        Heads h = heads("attentionBackward", qkv, lse, nHead);
        if (qkv.dtype() != DType.F32)
            throw new IllegalArgumentException("attentionBackward: " + qkv.dtype() + " qkv: the flash backward has only "
                    + "an fp32 variant so far");
        check(dqkv, DType.F32, "attentionBackward dqkv", qkv.shape());
        check(dout, DType.F32, "attentionBackward dout", h.B, h.T, h.C);
        check(out, DType.F32, "attentionBackward out", h.B, h.T, h.C);
        FlashGeometry f = FlashGeometry.of("attentionBackward", h.B, h.T, h.NH, h.hs);
        CUdeviceptr delta = scratch.get("attn.delta", 4 * h.rows());
        kernels.flashAttentionBackwardDelta(Launch.warpPerRow(Math.toIntExact(h.rows()),
                new Cost(4 * (2 * h.btc() + h.rows()), 2.0 * h.btc())), delta, ptr(dout), ptr(out), h.B, h.T, h.NH, h.hs);
        // dk/dv recompute s and dp per visible pair and update dk and dv (8 hs flops); dq recomputes both dots
        // and updates dq (6 hs flops).
        long io = 4 * (2 * h.btc() + 2 * h.btc() + 2 * h.rows());
        kernels.flashAttentionBackwardDkdv(qkv.dtype(),
                f.dkdvLaunch(new Cost(io, 8.0 * h.pairs() * h.hs + 6.0 * h.pairs())), ptr(dqkv), ptr(dout), ptr(qkv), ptr(lse), delta, h.B, h.T, h.NH, h.hs, h.scale(),
                dropout.key(), dropout.threshold(), dropout.scale());
        kernels.flashAttentionBackwardDq(qkv.dtype(),
                f.forwardLaunch(new Cost(io, 6.0 * h.pairs() * h.hs + 6.0 * h.pairs())), ptr(dqkv), ptr(dout), ptr(qkv), ptr(lse), delta, h.B, h.T, h.NH, h.hs, h.scale(),
                dropout.key(), dropout.threshold(), dropout.scale());
    }

    @Override
    public void attentionCached(Tensor out, Tensor qkv, Tensor kCache, Tensor vCache, Tensor mask, int pos,
                                int nHead) {
        String op = "attentionCached";
        int[] s = rank(qkv, 3, op + " qkv");
        int B = s[0], Tn = s[1];
        if (nHead <= 0 || s[2] % (3 * nHead) != 0)
            throw new IllegalArgumentException(op + ": qkv width " + s[2] + " is not 3 * nHead(" + nHead + ") * hs");
        int C = s[2] / 3, hs = C / nHead;
        checkDType(qkv, DType.F32, op + " qkv");
        check(out, DType.F32, op + " out", B, Tn, C);
        int L = rank(kCache, 4, op + " kCache")[2];
        check(kCache, DType.F32, op + " kCache", B, nHead, L, hs);
        check(vCache, DType.F32, op + " vCache", B, nHead, L, hs);
        int[] m = rank(mask, 2, op + " mask");
        if (m[0] != m[1]) throw new IllegalArgumentException(op + ": mask " + Tensor.describe(m) + " is not square");
        if (pos < 0 || pos + Tn > Math.min(L, m[0]))
            throw new IllegalArgumentException(op + ": positions [" + pos + ", " + (pos + Tn)
                    + ") do not fit a cache of " + L + " and a mask of " + m[0] + " positions");
        int keys = pos + Tn;
        long shared = 4L * (hs + keys);
        // The kernel's static reduce[32] floats count against the same 48 KiB as the dynamic part.
        if (shared + ATTENTION_CACHED_STATIC_SHARED > MAX_DYNAMIC_SHARED)
            throw new IllegalArgumentException(op + ": " + keys + " positions of head size " + hs + " need "
                    + (shared + ATTENTION_CACHED_STATIC_SHARED) + " bytes of shared memory per block, more than "
                    + MAX_DYNAMIC_SHARED);
        long n = (long) B * Tn * C;
        kernels.kvCacheWrite(Launch.elementwise(n, new Cost(16 * n, 0)), ptr(kCache), ptr(vCache), ptr(qkv), B, Tn,
                nHead, hs, L, pos);
        // With the causal mask, query p reads p+1 keys and values: sum_t (pos+t+1) per head.
        long live = (long) B * nHead * ((long) Tn * pos + (long) Tn * (Tn + 1) / 2);
        Cost cost = new Cost(4 * (2 * n + 2 * live * hs), 4.0 * live * hs + 5.0 * live);
        kernels.attentionCached(Launch.blocks(B * nHead * Tn, Launch.THREADS, cost).withShared((int) shared), ptr(out),
                ptr(qkv), ptr(kCache), ptr(vCache), ptr(mask), mask.dtype() == DType.I32 ? 1 : 0, m[0], B, Tn, nHead,
                hs, L, pos, (float) (1.0 / Math.sqrt(hs)));
    }

    @Override
    public void geluForward(Tensor out, Tensor in) {
        long n = sameSize("geluForward", out, in);
        kernels.geluForward(Launch.elementwise(n, new Cost(8 * n, 10.0 * n)), ptr(out), ptr(in), n);
    }

    @Override
    public void geluBackward(Tensor din, Tensor dout, Tensor in) {
        long n = sameSize("geluBackward", din, dout, in);
        kernels.geluBackward(Launch.elementwise(n, new Cost(16 * n, 20.0 * n)), ptr(din), ptr(dout), ptr(in), n);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        long n = sameSize("add", out, a, b);
        kernels.residualAdd(Launch.elementwise(n, new Cost(12 * n, n)), ptr(out), ptr(a), ptr(b), n);
    }

    @Override
    public void dropoutForward(Tensor out, Tensor in, Dropout dropout) {
        long n = sameSize("dropoutForward", out, in);
        if (!dropout.active()) {
            copy(out, in);
            return;
        }
        kernels.dropoutForward(Launch.elementwise(n, new Cost(8 * n, n)), ptr(out), ptr(in), n, dropout.key(),
                dropout.threshold(), dropout.scale());
    }

    @Override
    public void dropoutBackward(Tensor din, Tensor dout, Dropout dropout) {
        long n = sameSize("dropoutBackward", din, dout);
        kernels.dropoutBackward(Launch.elementwise(n, new Cost(12 * n, n)), ptr(din), ptr(dout), n, dropout.key(),
                dropout.threshold(), dropout.scale());
    }

    @Override
    public void crossEntropy(Tensor losses, Tensor dlogits, Tensor logits, Tensor targets, float dlossScale) {
        int N = logits.rows(), V = logits.lastDim();
        checkDType(logits, DType.F32, "crossEntropy logits");
        checkNumel(losses, N, "crossEntropy losses");
        checkDType(targets, DType.I32, "crossEntropy targets");
        if (targets.numel() != N) throw sizeMismatch("crossEntropy targets", targets, N);
        if (dlogits != null) check(dlogits, DType.F32, "crossEntropy dlogits", logits.shape());
        long n = (long) N * V;
        Cost cost = new Cost(4 * (dlogits == null ? n : 2 * n) + 12L * N, 5.0 * n);
        kernels.crossEntropyForwardBackward(Launch.blocks(N, CE_THREADS, cost), ptr(losses), ptr(dlogits), ptr(logits),
                ptr(targets), N, V, dlossScale, ptr(errors));
    }

    @Override
    public void accumulateLoss(Tensor state, Tensor losses, float scale) {
        checkNumel(state, StepState.SIZE, "accumulateLoss state");
        checkDType(losses, DType.F32, "accumulateLoss losses");
        int n = Math.toIntExact(losses.numel());
        kernels.lossAccumulate(Launch.blocks(1, 1024, new Cost(4L * n, n)), ptr(state), ptr(losses), n, scale);
    }

    @Override
    public void stepDecision(Tensor state, Tensor grads, Tensor chunks, float maxNorm) {
        checkNumel(state, StepState.SIZE, "stepDecision state");
        checkDType(grads, DType.F32, "stepDecision grads");
        int k = chunkCount("stepDecision", chunks);
        CUdeviceptr partials = scratch.get("step.partials", 8L * k);
        long n = grads.numel();
        kernels.chunkSumSquares(Launch.blocks(k, Launch.THREADS, new Cost(4 * n, 2.0 * n)), partials, ptr(grads),
                ptr(chunks));
        kernels.stepDecision(Launch.blocks(1, 1024, new Cost(8L * k, k)), ptr(state), partials, k, maxNorm);
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state, AdamWConfig c,
                      boolean zeroGrad) {
        long n = sameSize("adamw", params, grads, m, v);
        checkNumel(state, StepState.SIZE, "adamw state");
        int k = chunkCount("adamw", chunks);
        kernels.adamwArena(Launch.blocks(k, Launch.THREADS, new Cost((zeroGrad ? 32 : 28) * n, 16.0 * n)), ptr(params),
                ptr(grads), ptr(m), ptr(v), ptr(chunks), ptr(state), c.beta1(), c.beta2(), c.eps(), c.weightDecay(),
                zeroGrad ? 1 : 0);
    }

    /** Rows of a chunk table (its contents stay on the device; AdamW builds it with ArenaChunks). */
    private static int chunkCount(String op, Tensor chunks) {
        int[] s = rank(chunks, 2, op + " chunks");
        check(chunks, DType.I32, op + " chunks", s[0], ArenaChunks.COLUMNS);
        return s[0];
    }

    @Override
    public double sumOfSquares(Tensor t) {
        checkDType(t, DType.F32, "sumOfSquares");
        long n = t.numel();
        int grid = Math.min(NORM_BLOCKS, Launch.elementwiseBlocks(n));
        // One partial per block, then a single fixed-order reduction: deterministic.
        CUdeviceptr partials = scratch.get("norm.partials", 8L * (grid + 1));
        kernels.sumSquaresPartial(Launch.blocks(grid, Launch.THREADS, new Cost(4 * n, 2.0 * n)), partials, ptr(t), n);
        CUdeviceptr result = offset8(partials, grid);
        kernels.sumPartials(Launch.blocks(1, 1024, new Cost(8L * grid, grid)), result, partials, grid);
        double[] out = new double[1];
        syncAndCheck();
        ctx.copyToHost(Pointer.to(out), result, 8);
        return out[0];
    }

    @Override
    public void synchronize() {
        syncAndCheck();
    }

    @Override
    public Graph capture(Runnable work) {
        CUgraphExec exec = ctx.capture(work);
        return new Graph() {
            private boolean closed;

            @Override
            public void replay() {
                if (closed) throw new IllegalStateException("graph was closed");
                ctx.replay(exec);
            }

            @Override
            public void close() {
                if (!closed) ctx.destroy(exec);
                closed = true;
            }
        };
    }

    // ---- profiling ----------------------------------------------------------------------------------

    @Override
    public Profiler.Clock clock() {
        return clock;
    }

    @Override
    public void setProfiler(Profiler profiler) {
        this.profiler = profiler == null ? Profiler.OFF : profiler;
    }

    @Override
    public void close() {
        ctx.synchronize();
        errors.close();
        staging.close();
        scratch.close();
        clock.close();
        blas.close();
        ctx.close();
    }

    // ---- helpers ------------------------------------------------------------------------------------

    /** {@link Kernels}' door to the driver: each launch inside a profiler span declaring its cost. */
    private void launch(String kernel, Launch launch, KernelArgs args) {
        if (launch.gridX() == 0) return; // nothing to do for empty tensors
        long t0 = profiler.begin();
        ctx.launch(kernel, launch, args);
        profiler.end(t0, kernel, launch.cost().bytes(), launch.cost().flops());
    }

    /**
     * Row-major C(M,N) = op(A) op(B) + beta C, with lda/ldb/ldc the row lengths as stored. cuBLAS is
     * column-major, where a row-major matrix reads as its transpose, so this asks cuBLAS for
     * C^T = op(B)^T op(A)^T by swapping the operands (and M with N).
     */
    private void gemm(String name, boolean transA, boolean transB, int M, int N, int K, Tensor a, int lda,
                      Tensor b, int ldb, float beta, Tensor c, int ldc) {
        long t0 = profiler.begin();
        ctx.ensureCurrent();
        rowMajorSgemm(blas, transA, transB, M, N, K, ptr(a), lda, ptr(b), ldb, beta, ptr(c), ldc);
        profiler.end(t0, name, 4L * ((long) M * K + (long) K * N + (beta == 0 ? 1L : 2L) * M * N),
                2.0 * M * N * K);
    }

    /**
     * Row-major C(M,N) = op(A) op(B) + beta C (alpha 1) on column-major cuBLAS: a row-major matrix with row
     * length ld is, to cuBLAS, its transpose with leading dimension ld, so this computes
     * C^T(N,M) = op(B)^T op(A)^T by swapping the operands, their transpose flags, and M with N.
     */
    static void rowMajorSgemm(Blas blas, boolean transA, boolean transB, int M, int N, int K, Pointer a, int lda,
                              Pointer b, int ldb, float beta, Pointer c, int ldc) {
        blas.sgemm(transB, transA, N, M, K, 1f, b, ldb, a, lda, beta, c, ldc);
    }

    /** Waits for the stream and raises any index error a kernel recorded. */
    private void syncAndCheck() {
        ctx.synchronize();
        int[] e = new int[3];
        ctx.copyToHost(Pointer.to(e), errors.ptr(), 12);
        if (e[0] == 0) return;
        zero(errors);
        String what = e[0] == 1 ? "token id " : "target id ";
        throw new IllegalArgumentException(what + e[2] + " at position " + e[1] + " is out of range");
    }

    /** The device address of a CUDA tensor; null for null (optional outputs). */
    private static CUdeviceptr ptr(Tensor t) {
        return t == null ? null : ((CudaTensor) t).ptr();
    }

    private static CUdeviceptr offset8(CUdeviceptr p, long doubles) {
        return doubles == 0 ? p : p.withByteOffset(8 * doubles);
    }

    private static int[] withLast(int[] shape, int last) {
        int[] s = shape.clone();
        s[s.length - 1] = last;
        return s;
    }

    private CudaTensor cu(Tensor t, DType dtype, String op) {
        if (!(t instanceof CudaTensor c))
            throw new IllegalArgumentException(op + ": tensor " + t + " does not belong to the CUDA backend");
        if (dtype != null) checkDType(c, dtype, op);
        return c;
    }

    private static void checkDType(Tensor t, DType dtype, String what) {
        if (!(t instanceof CudaTensor))
            throw new IllegalArgumentException(what + ": tensor " + t + " does not belong to the CUDA backend");
        if (t.dtype() != dtype) throw new IllegalArgumentException(what + ": expected " + dtype + ", got " + t);
    }

    private static void check(Tensor t, DType dtype, String what, int... shape) {
        checkDType(t, dtype, what);
        if (!Arrays.equals(t.shape(), shape))
            throw new IllegalArgumentException(what + ": expected shape " + Tensor.describe(shape) + ", got "
                    + Tensor.describe(t.shape()));
    }

    private static void checkNumel(Tensor t, long n, String what) {
        checkDType(t, DType.F32, what);
        if (t.numel() != n) throw sizeMismatch(what, t, n);
    }

    private static int[] rank(Tensor t, int rank, String what) {
        int[] s = t.shape();
        if (s.length != rank)
            throw new IllegalArgumentException(what + ": expected rank " + rank + ", got " + Tensor.describe(s));
        return s;
    }

    private static long sameSize(String op, Tensor first, Tensor... rest) {
        checkDType(first, DType.F32, op);
        for (Tensor t : rest) {
            checkDType(t, DType.F32, op);
            if (t.numel() != first.numel()) throw sizeMismatch(op, t, first.numel());
        }
        return first.numel();
    }

    private static IllegalArgumentException sizeMismatch(String what, Tensor t, long expected) {
        return new IllegalArgumentException(what + ": expected " + expected + " elements, got " + t);
    }
}
