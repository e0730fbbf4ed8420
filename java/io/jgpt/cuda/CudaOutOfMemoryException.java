package io.jgpt.cuda;

/** A device allocation failed; the message says how much was asked for and how much was free. */
public final class CudaOutOfMemoryException extends RuntimeException {

    public CudaOutOfMemoryException(long requested, long free, long total) {
        super(String.format("CUDA out of memory: requested %,d bytes, %,d of %,d bytes free", requested, free,
                total));
    }
}
