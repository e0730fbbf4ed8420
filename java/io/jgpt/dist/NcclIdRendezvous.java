package io.jgpt.dist;

import io.jgpt.JgptException;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

/**
 * Hands NCCL's unique id from rank 0 to the other ranks when no MPI is there to broadcast it (torchrun-style
 * launches: MASTER_ADDR, MASTER_PORT). Rank 0 listens on the port and writes the id to each of the other
 * {@code size - 1} ranks as they connect; the others retry connecting until rank 0 is up. Nothing but the
 * id's bytes crosses the connection; NCCL then sets up its own transports.
 */
public final class NcclIdRendezvous {
    private NcclIdRendezvous() {}

    /** Rank 0: serves {@code id} to {@code size - 1} ranks, failing if they have not all come within the timeout. */
    public static void serve(byte[] id, String address, int port, int size, Duration timeout) {
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getByName(address), port));
            long deadline = System.nanoTime() + timeout.toNanos();
            for (int served = 1; served < size; served++) {
                int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                server.setSoTimeout(left);
                try (Socket s = server.accept()) {
                    OutputStream out = s.getOutputStream();
                    out.write(id);
                    out.flush();
                } catch (java.net.SocketTimeoutException e) {
                    throw new JgptException("rank 0: only " + (served - 1) + " of " + (size - 1) + " ranks reached "
                            + address + ":" + port + " within " + timeout.toSeconds() + " s (MASTER_ADDR, MASTER_PORT)");
                }
            }
        } catch (IOException e) {
            throw new JgptException("rank 0: cannot listen on " + address + ":" + port + " (MASTER_ADDR, MASTER_PORT): "
                    + e.getMessage());
        }
    }

    /** Any other rank: the id rank 0 serves, retrying until rank 0 listens or the timeout passes. */
    public static byte[] fetch(String address, int port, int idBytes, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address, port), 1000);
                s.setSoTimeout((int) Math.max(1, timeout.toMillis()));
                byte[] id = new byte[idBytes];
                new DataInputStream(s.getInputStream()).readFully(id);
                return id;
            } catch (IOException e) {
                last = e;
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        throw new JgptException("cannot fetch the NCCL id from rank 0 at " + address + ":" + port + " within "
                + timeout.toSeconds() + " s (MASTER_ADDR, MASTER_PORT)" + (last == null ? "" : ": " + last.getMessage()));
    }
}
