package io.jgpt.cuda;

import io.jgpt.cuda.blas.Blas;
import io.jgpt.cuda.blas.CublasLt;
import io.jgpt.cuda.blas.CublasLt.Epilogue;
import io.jgpt.cuda.blas.CublasLt.Shape;
import io.jgpt.cuda.blas.CublasLt.Type;
import io.jgpt.ops.Cost;
import io.jgpt.ops.OpCost;
import io.jgpt.tensor.Tensor.DType;
import java.util.function.BooleanSupplier;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

/**
 * Ops.linearForward / linearBackward (and the MLP's fused pair, linearGeluForward / linearBackwardThroughGelu) on
 * bf16 activations and weights: cuBLASLt GEMMs with bf16 inputs and fp32 accumulation, the bias added in the
 * forward's epilogue (with GELU, keeping the pre-activation, for the MLP's first projection), the bias gradient
 * taken beside the weight gradient (BGRADB) or beside dGELU (DGELU_BGRAD); fp32 weight and bias gradients
 * accumulate (+=) as Ops requires. Where cuBLASLt has no
 * algorithm for a shape (it says so once) the same results come from cublasGemmEx and the bias kernels.
 *
 * <p>Row-major to cuBLAS's column-major: out(N,OC) = in(N,IC) W(OC,IC)^T is, column-major, out^T (OC, N) =
 * W (as (IC,OC), transposed) times in^T (IC, N); the backward's products follow the same way.
 */
final class Bf16Linear implements AutoCloseable {

    /** cuBLASLt's workspace (32 MiB is what NVIDIA suggests for Hopper). */
    static final long WORKSPACE_BYTES = 32L << 20;

    private final CudaContext ctx;
    private final Blas blas;
    private final Kernels kernels;
    private final Scratch scratch;
    private final CUdeviceptr workspace;
    private final Lt lt;
    private final GemmTimer timer;

    /** Runs one GEMM inside a profiler span of the backend; returns what the GEMM returns. */
    interface GemmTimer {
        boolean time(String name, Cost cost, BooleanSupplier gemm);
    }

    /** The cuBLASLt calls this class makes: {@link CublasLt}, or a test's stand-in on a fake driver. */
    interface Lt extends AutoCloseable {
        /** {@link CublasLt#matmul}: queues the product and returns true, or returns false (no algorithm). */
        boolean matmul(Shape s, float alpha, Pointer a, Pointer b, float beta, Pointer d, Pointer bias, Pointer aux,
                       CUstream stream);

        @Override
        void close();
    }

    /** Opens an {@link Lt} on a workspace. */
    interface LtOpener {
        Lt open(CUdeviceptr workspace, long bytes);
    }

    /** The library itself, found beside libcublas. */
    static Lt cublasLt(CUdeviceptr workspace, long bytes) {
        CublasLt lt = new CublasLt(CublasLt.locate(), workspace, bytes);
        return new Lt() {
            @Override
            public boolean matmul(Shape s, float alpha, Pointer a, Pointer b, float beta, Pointer d, Pointer bias,
                                  Pointer aux, CUstream stream) {
                return lt.matmul(s, alpha, a, b, beta, d, bias, aux, stream);
            }

            @Override
            public void close() {
                lt.close();
            }
        };
    }

    Bf16Linear(CudaContext ctx, Blas blas, Kernels kernels, Scratch scratch, GemmTimer timer, LtOpener opener) {
        this.ctx = ctx;
        this.timer = timer;
        this.blas = blas;
        this.kernels = kernels;
        this.scratch = scratch;
        workspace = ctx.alloc(WORKSPACE_BYTES);
        try {
            lt = opener.open(workspace, WORKSPACE_BYTES);
        } catch (RuntimeException e) {
            ctx.free(workspace);
            throw e;
        }
    }

    /** out (N,OC) bf16 = in (N,IC) bf16 W^T (OC,IC) bf16 + bias (OC, bf16, nullable), rounded once. */
    void forward(CUdeviceptr out, CUdeviceptr in, CUdeviceptr weight, CUdeviceptr bias, int N, int IC, int OC) {
        Epilogue e = bias == null ? Epilogue.NONE : Epilogue.BIAS;
        Shape s = new Shape(true, false, OC, N, IC, IC, IC, OC, Type.BF16, Type.BF16, e, 0, null);
        Cost cost = OpCost.gemm(N, OC, IC, false, DType.BF16);
        if (timer.time("linear_forward_lt", cost, () -> lt.matmul(s, 1f, weight, in, 0f, out, bias, null, ctx.stream()))) {
            return;
        }
        // No algorithm: the product rounded to bf16, then the bias kernel (a second rounding, within the
        // one-ulp bound the parity test allows).
        timer.time("linear_forward_gemmex", cost, () -> {
            blas.gemmBf16(true, false, OC, N, IC, 1f, weight, IC, in, IC, 0f, out, OC, true);
            return true;
        });
        if (bias != null) {
            kernels.biasAdd(DType.BF16, Launch.elementwise((long) N * OC, OpCost.biasAdd(N, OC, DType.BF16)), out,
                    bias, N, OC);
        }
    }

    /**
     * din (N,IC) bf16 += dout (N,OC) W (nullable); dweight (OC,IC) fp32 += dout^T in; dbias (OC) fp32 += column
     * sums of dout (nullable). dout, in and weight are bf16.
     */
    void backward(CUdeviceptr din, CUdeviceptr dweight, CUdeviceptr dbias, CUdeviceptr dout, CUdeviceptr in,
                  CUdeviceptr weight, int N, int IC, int OC) {
        if (din != null) {
            Shape s = new Shape(false, false, IC, N, OC, IC, OC, IC, Type.BF16, Type.BF16, Epilogue.NONE, 0, null);
            Cost cost = OpCost.gemm(N, IC, OC, true, DType.BF16);
            if (!timer.time("linear_backward_input_lt", cost,
                    () -> lt.matmul(s, 1f, weight, dout, 1f, din, null, null, ctx.stream()))) {
                timer.time("linear_backward_input_gemmex", cost, () -> {
                    blas.gemmBf16(false, false, IC, N, OC, 1f, weight, IC, dout, OC, 1f, din, IC, true);
                    return true;
                });
            }
        }
        // dweight^T (IC, OC) column-major = in^T (IC, N) dout (N, OC); BGRADB sums op(B) = dout over N.
        Epilogue e = dbias == null ? Epilogue.NONE : Epilogue.BGRADB;
        Shape s = new Shape(false, true, IC, OC, N, IC, OC, IC, Type.BF16, Type.F32, e, 0,
                dbias == null ? null : Type.F32);
        CUdeviceptr fresh = dbias == null ? null : scratch.get("bf16linear.dbias", 4L * OC);
        Cost cost = OpCost.gemm(OC, IC, N, true, DType.BF16);
        if (timer.time("linear_backward_weight_lt", cost,
                () -> lt.matmul(s, 1f, in, dout, 1f, dweight, fresh, null, ctx.stream()))) {
            if (dbias != null) accumulate(dbias, fresh, OC);
            return;
        }
        timer.time("linear_backward_weight_gemmex", cost, () -> {
            blas.gemmBf16(false, true, IC, OC, N, 1f, in, IC, dout, OC, 1f, dweight, IC, false);
            return true;
        });
        if (dbias != null) {
            kernels.columnSumAccumulate(DType.BF16, Launch.columnTiles(OC, OpCost.columnSum(N, OC, DType.BF16)),
                    dbias, dout, N, OC);
        }
    }

    /**
     * out (N,OC) bf16 = GELU(pre), pre (N,OC) bf16 = in (N,IC) W^T (OC,IC) + bias (OC), kept for the backward:
     * cuBLASLt's GELU_AUX_BIAS epilogue, which takes GELU of the fp32 value and rounds out and pre once each.
     */
    void forwardGelu(CUdeviceptr out, CUdeviceptr preact, CUdeviceptr in, CUdeviceptr weight, CUdeviceptr bias, int N,
                     int IC, int OC) {
        Shape s = new Shape(true, false, OC, N, IC, IC, IC, OC, Type.BF16, Type.BF16, Epilogue.GELU_AUX_BIAS, OC, null);
        long n = (long) N * OC;
        Cost cost = OpCost.gemm(N, OC, IC, false, DType.BF16).plus(OpCost.fusedGelu(n, DType.BF16));
        if (timer.time("linear_gelu_forward_lt", cost,
                () -> lt.matmul(s, 1f, weight, in, 0f, out, bias, preact, ctx.stream()))) {
            return;
        }
        // No algorithm: the pre-activation as forward makes it, then the GELU kernel on its rounded value (out
        // then differs from the epilogue's by at most about one bf16 ulp, which the parity test allows).
        forward(preact, in, weight, bias, N, IC, OC);
        kernels.geluForward(DType.BF16, Launch.vectorized(n, DType.BF16, OpCost.geluForward(n, DType.BF16)), out,
                preact, n);
    }

    /**
     * dpreact (N,IC) bf16 = (dout (N,OC) W (OC,IC)) * GELU'(preact), overwritten; dbias (IC, fp32, nullable) +=
     * its column sums: cuBLASLt's DGELU_BGRAD (or DGELU) epilogue on the fp32 product.
     */
    void backwardThroughGelu(CUdeviceptr dpreact, CUdeviceptr dbias, CUdeviceptr dout, CUdeviceptr weight,
                             CUdeviceptr preact, int N, int IC, int OC) {
        Epilogue e = dbias == null ? Epilogue.DGELU : Epilogue.DGELU_BGRAD;
        Shape s = new Shape(false, false, IC, N, OC, IC, OC, IC, Type.BF16, Type.BF16, e, IC,
                dbias == null ? null : Type.F32);
        CUdeviceptr fresh = dbias == null ? null : scratch.get("bf16linear.dbias", 4L * IC);
        long n = (long) N * IC;
        Cost cost = OpCost.gemm(N, IC, OC, false, DType.BF16).plus(OpCost.fusedGeluGrad(n, DType.BF16));
        if (timer.time("linear_backward_gelu_lt", cost,
                () -> lt.matmul(s, 1f, weight, dout, 0f, dpreact, fresh, preact, ctx.stream()))) {
            if (dbias != null) accumulate(dbias, fresh, IC);
            return;
        }
        // No algorithm: the product rounded to bf16, GELU' applied by a kernel (a second rounding), the bias sums.
        timer.time("linear_backward_gelu_gemmex", OpCost.gemm(N, IC, OC, false, DType.BF16), () -> {
            blas.gemmBf16(false, false, IC, N, OC, 1f, weight, IC, dout, OC, 0f, dpreact, IC, true);
            return true;
        });
        kernels.geluGradScale(DType.BF16, Launch.vectorized(n, DType.BF16, OpCost.geluGradScale(n, DType.BF16)),
                dpreact, preact, n);
        if (dbias != null) {
            kernels.columnSumAccumulate(DType.BF16, Launch.columnTiles(IC, OpCost.columnSum(N, IC, DType.BF16)),
                    dbias, dpreact, N, IC);
        }
    }

    /** sums += fresh (n fp32): the epilogues overwrite their bias gradient, Ops accumulates. */
    private void accumulate(CUdeviceptr sums, CUdeviceptr fresh, int n) {
        kernels.residualAdd(DType.F32, Launch.vectorized(n, DType.F32, OpCost.add(n, DType.F32)), sums, sums, fresh, n);
    }

    @Override
    public void close() {
        lt.close();
        ctx.free(workspace);
    }
}
