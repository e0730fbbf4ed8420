package io.jgpt.dist;

/** The element types the collectives move: gradients and weights (F32), loss and norm partial sums (F64), ids (BYTE). */
public enum Element {
    F32(4), F64(8), BYTE(1);

    private final int bytes;

    Element(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
