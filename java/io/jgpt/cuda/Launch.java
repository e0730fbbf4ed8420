package io.jgpt.cuda;

import io.jgpt.ops.Cost;
import io.jgpt.tensor.Tensor.DType;

/**
 * How a kernel is launched (a 1-D grid of (blockX, blockY) blocks with {@code sharedBytes} of dynamic shared
 * memory each) and the cost it declares to the profiler. The factories name the shapes the kernels are
 * written for; the constructor refuses blocks that are not whole warps within 1024 threads, which every
 * block reduction in kernels/common.cuh assumes.
 */
record Launch(int gridX, int blockX, int blockY, int sharedBytes, Cost cost) {

    /** Threads per block of the grid-stride and warp-per-row kernels. */
    static final int THREADS = 256;
    /** Grid-stride kernels cover elements beyond this many blocks by looping. */
    static final int MAX_BLOCKS = 1 << 16;
    private static final int WARP = 32;

    Launch {
        if (gridX < 0 || blockY < 1 || blockX < WARP || blockX % WARP != 0 || blockX * blockY > 1024
                || sharedBytes < 0)
            throw new IllegalArgumentException("bad launch: grid " + gridX + ", block (" + blockX + "," + blockY
                    + "), " + sharedBytes + " bytes shared (blocks must be whole warps within 1024 threads)");
    }

    /** A grid-stride kernel over {@code n} elements. */
    static Launch elementwise(long n, Cost cost) {
        return new Launch(elementwiseBlocks(n), THREADS, 1, 0, cost);
    }

    /**
     * A kernel over {@code n} elements of {@code storage} built on storage.cuh's map_elementwise: one thread per
     * 16-byte vector (4 floats, 8 bf16), which the grid-stride loops of its misaligned path and tail also cover.
     */
    static Launch vectorized(long n, DType storage, Cost cost) {
        long perVector = 16 / storage.bytes();
        return elementwise((n + perVector - 1) / perVector, cost);
    }

    /** Blocks a grid-stride kernel over {@code n} elements uses: one thread per element up to MAX_BLOCKS. */
    static int elementwiseBlocks(long n) {
        return (int) Math.min((n + THREADS - 1) / THREADS, MAX_BLOCKS);
    }

    /** A kernel that gives each of {@code rows} rows one warp. */
    static Launch warpPerRow(int rows, Cost cost) {
        int warps = THREADS / WARP;
        return new Launch((rows + warps - 1) / warps, THREADS, 1, 0, cost);
    }

    /** A kernel of (32, 32) blocks, each owning 32 of {@code columns} columns (x) and striding over rows (y). */
    static Launch columnTiles(int columns, Cost cost) {
        return new Launch((columns + WARP - 1) / WARP, WARP, WARP, 0, cost);
    }

    /** {@code grid} blocks of {@code threads} threads. */
    static Launch blocks(int grid, int threads, Cost cost) {
        return new Launch(grid, threads, 1, 0, cost);
    }

    Launch withShared(int bytes) {
        return new Launch(gridX, blockX, blockY, bytes, cost);
    }
}
