package io.jgpt.cuda;

import io.jgpt.ops.Cost;

/**
 * Launch geometry of the fp32 flash-attention kernels (kernels/flash_attention_forward.cu and
 * flash_attention_backward.cu), the host side of the constants and formulas in kernels/flash_attention.cuh (a test
 * reads that header and checks they agree): {@link #THREADS} threads per block, a row of the head owned by
 * {@link #group} neighbouring threads, each holding {@link #DIMS_PER_THREAD} channels, so hs is padded up to 32,
 * 64 or 128 and larger heads are not supported.
 *
 * @param blocks       grid size of every flash kernel but the delta one: one block per (b, h) and row tile
 * @param rows         query (forward, dq) or key (dk/dv) rows per block
 * @param group        threads per row
 * @param forwardShared dynamic shared memory of the forward and dq kernels (a k and a v tile), bytes
 * @param dkdvShared   dynamic shared memory of the dk/dv kernel (a q and a dout tile, their lse and delta), bytes
 */
record FlashGeometry(int blocks, int rows, int group, int forwardShared, int dkdvShared) {

    static final int THREADS = 128;
    static final int DIMS_PER_THREAD = 32;
    static final int MAX_HEAD_SIZE = 128;
    static final int KEY_TILE = 32;
    static final int QUERY_TILE = 32;

    /** The forward and dq kernels' launch: {@link #blocks} blocks of {@link #THREADS}, a k and a v tile shared. */
    Launch forwardLaunch(Cost cost) {
        return Launch.blocks(blocks, THREADS, cost).withShared(forwardShared);
    }

    /** The dk/dv kernel's launch. */
    Launch dkdvLaunch(Cost cost) {
        return Launch.blocks(blocks, THREADS, cost).withShared(dkdvShared);
    }

    /** Rows per block and the largest head of the bf16 tensor-core kernels (kernels/flash_attention_mma.cuh). */
    static final int MMA_ROWS = 64;
    static final int MMA_HEAD = 64;

    /**
     * The launch of every bf16 flash kernel (forward, dk/dv, dq): one block of 4 warps per (b, h) and 64-row tile,
     * static shared memory; hs <= 64, larger heads refused (GPT-2's presets all have 64).
     */
    static Launch bf16(String op, int B, int T, int NH, int hs, Cost cost) {
        if (hs > MMA_HEAD)
            throw new IllegalArgumentException(op + ": head size " + hs + " is larger than the bf16 attention kernels' "
                    + MMA_HEAD + " (use --precision fp32 or tf32, or more heads)");
        long blocks = (long) B * NH * Math.ceilDiv(T, MMA_ROWS);
        if (blocks > Integer.MAX_VALUE)
            throw new IllegalArgumentException(op + ": " + blocks + " blocks exceed the grid limit");
        return Launch.blocks((int) blocks, THREADS, cost);
    }

    /** Threads per row for head size hs (1, 2 or 4), or 0 past {@link #MAX_HEAD_SIZE}. */
    static int group(int hs) {
        return hs <= 0 ? 0 : hs <= 32 ? 1 : hs <= 64 ? 2 : hs <= MAX_HEAD_SIZE ? 4 : 0;
    }

    static FlashGeometry of(String op, int B, int T, int NH, int hs) {
        int group = group(hs);
        if (group == 0)
            throw new IllegalArgumentException(op + ": head size " + hs + " is larger than the CUDA attention kernels' "
                    + MAX_HEAD_SIZE + " (use --device cpu, or more heads)");
        int rows = THREADS / group, padded = DIMS_PER_THREAD * group;
        long blocks = (long) B * NH * Math.ceilDiv(T, rows);
        if (blocks > Integer.MAX_VALUE)
            throw new IllegalArgumentException(op + ": " + blocks + " blocks exceed the grid limit");
        return new FlashGeometry((int) blocks, rows, group, 2 * KEY_TILE * padded * 4,
                (2 * QUERY_TILE * padded + 2 * QUERY_TILE) * 4);
    }
}
