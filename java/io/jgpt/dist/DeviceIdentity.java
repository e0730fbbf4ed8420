package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import io.jgpt.JgptException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which physical GPU a rank uses, as "host/PCI bus id", compared across ranks before NCCL starts so that
 * two ranks on one GPU are refused with a message naming them (NCCL would refuse them too, less plainly).
 */
public final class DeviceIdentity {
    private DeviceIdentity() {}

    /** Bytes of one rank's identity in the exchange (host names are cut to fit). */
    static final int BYTES = 128;

    /** This machine's name and the bus id, e.g. "node7/0000:19:00.0". */
    public static String of(String busId) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "localhost";
        }
        return host + "/" + busId;
    }

    /** Refuses a GPU used by two ranks; {@code identities.get(r)} is rank r's, {@code localRanks} say which cuda:N each opened. */
    public static void requireDistinct(List<String> identities, List<Integer> localRanks) {
        Map<String, Integer> first = new HashMap<>();
        for (int r = 0; r < identities.size(); r++) {
            Integer other = first.putIfAbsent(identities.get(r), r);
            if (other != null) {
                throw new JgptException("ranks " + other + " and " + r + " would share one GPU (" + identities.get(r)
                        + ", cuda:" + localRanks.get(other) + " and cuda:" + localRanks.get(r) + "): each rank needs its own;"
                        + " start at most as many ranks per machine as it has GPUs, each on cuda:$LOCAL_RANK");
            }
        }
    }

    /** Every rank's identity and local rank, exchanged over a host communicator (MPI), then checked. */
    public static void exchangeAndCheck(Communicator host, String mine, int localRank) {
        int n = host.size();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment all = a.allocate(BYTES * n);
            byte[] bytes = (localRank + " " + mine).getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(bytes, 0, all, JAVA_BYTE, (long) BYTES * host.rank(), Math.min(bytes.length, BYTES));
            host.allGather(all, BYTES, Element.BYTE);
            List<String> ids = new ArrayList<>();
            List<Integer> locals = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                String s = all.asSlice((long) BYTES * r, BYTES).getString(0, StandardCharsets.UTF_8);
                int space = s.indexOf(' ');
                locals.add(Integer.parseInt(s.substring(0, space)));
                ids.add(s.substring(space + 1));
            }
            requireDistinct(ids, locals);
        }
    }
}
