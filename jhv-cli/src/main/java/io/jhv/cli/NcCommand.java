package io.jhv.cli;

import io.jhv.core.tls.TlsConfig;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;

/**
 * {@code hv nc}: libhv's (and netcat's) {@code nc}. Connects (or with {@code -l} accepts one
 * connection), copies stdin to the socket and the socket to stdout; at the end of stdin it shuts
 * down its output (half-close) and goes on printing until the peer closes. {@code -u} speaks UDP,
 * {@code --tls} TLS, {@code -z} only reports which ports of a range accept a connection.
 *
 * <p>Blocking sockets on purpose: stdin and stdout block anyway, and one connection needs no event
 * loop. Exit status 0 on success, 1 on a failure (refused, timed out, no open port), 2 for a bad
 * command line.
 */
final class NcCommand {
    static final String USAGE = "hv nc [-u] [--tls [-k]] [-w SECS] [-v] HOST PORT | -l [HOST] PORT | -z HOST PORT[-PORT]";

    static final String HELP = """
            usage: hv nc [options] HOST PORT        connect; stdin -> socket, socket -> stdout
                   hv nc -l [options] [HOST] PORT   listen, serve one connection (default 0.0.0.0)
                   hv nc -z [-w SECS] HOST PORT[-PORT]  print the ports that accept a connection

            options:
              -u         UDP: each read of stdin is one datagram; prints what comes back; ends
                         -w SECS (default 2) after stdin ends, or when nothing came for that long
              --tls      TLS (client only; verifies the server against the system's CAs)
              -k         with --tls, trust any certificate (testing only)
              --ca FILE  with --tls, trust the CA certificates in FILE (PEM)
              -w SECS    connect timeout, and end after SECS without data either way (TCP)
              -v         say what happens on stderr
              -z         scan: exit 0 if any port is open, else 1
            At the end of stdin the connection is half-closed (FIN); the output goes on until the
            peer closes. A peer that half-closes first still gets the rest of stdin: hv nc ends when
            both directions have. Exit status 0 on success, 1 on failure, 2 on a bad command line.
            """;

    private NcCommand() {}

    static int run(String[] argv) {
        return run(argv, System.in, System.out, System.err);
    }

    /** Parsed options. */
    static final class Options {
        boolean udp, listen, scan, tls, insecure, verbose;
        String ca;
        long timeoutMs; // 0: none
        final List<String> operands = new ArrayList<>();
    }

    static Options parse(String[] argv) {
        Options o = new Options();
        for (int i = 1; i < argv.length; i++) {
            String s = argv[i];
            switch (s) {
                case "-u" -> o.udp = true;
                case "-l" -> o.listen = true;
                case "-z" -> o.scan = true;
                case "-k", "--insecure" -> o.insecure = true;
                case "-v" -> o.verbose = true;
                case "--tls" -> o.tls = true;
                case "--ca" -> {
                    if (++i >= argv.length) throw new Args.UsageException("--ca needs a file");
                    o.ca = argv[i];
                }
                case "-w" -> {
                    if (++i >= argv.length) throw new Args.UsageException("-w needs a number of seconds");
                    try {
                        double secs = Double.parseDouble(argv[i]);
                        if (!(secs > 0) || secs > 86_400) throw new NumberFormatException();
                        o.timeoutMs = Math.max(1, (long) (secs * 1000));
                    } catch (NumberFormatException e) {
                        throw new Args.UsageException("-w must be a number of seconds (0 to 86400): " + argv[i]);
                    }
                }
                default -> {
                    if (s.startsWith("-") && s.length() > 1) throw new Args.UsageException("unknown option: " + s);
                    o.operands.add(s);
                }
            }
        }
        if ((o.insecure || o.ca != null) && !o.tls) throw new Args.UsageException("-k and --ca need --tls");
        if (o.tls && (o.udp || o.listen)) throw new Args.UsageException("--tls is for TCP clients (not with -u or -l)");
        if (o.scan && (o.udp || o.listen)) throw new Args.UsageException("-z scans TCP ports (not with -u or -l)");
        int n = o.operands.size();
        if (o.listen ? n < 1 || n > 2 : n != 2) throw new Args.UsageException("usage: " + USAGE);
        return o;
    }

    static int run(String[] argv, InputStream in, PrintStream out, PrintStream err) {
        if (argv.length > 1 && (argv[1].equals("--help") || argv[1].equals("-h"))) {
            out.print(HELP);
            return 0;
        }
        Options o = parse(argv);
        try {
            if (o.scan) return scan(o, out, err);
            if (o.udp) return udp(o, in, out, err);
            Socket s = o.listen ? accept(o, err) : connect(o, err);
            return relay(s, o, in, out, err);
        } catch (IOException e) {
            err.println("hv nc: " + e.getMessage());
            return 1;
        }
    }

    private static int port(String s) {
        try {
            int p = Integer.parseInt(s);
            if (p < 0 || p > 65535) throw new NumberFormatException();
            return p;
        } catch (NumberFormatException e) {
            throw new Args.UsageException("bad port: " + s);
        }
    }

    private static Socket connect(Options o, PrintStream err) throws IOException {
        String host = o.operands.get(0);
        int port = port(o.operands.get(1));
        InetSocketAddress addr = new InetSocketAddress(host, port);
        if (addr.isUnresolved()) throw new IOException("cannot resolve " + host);
        Socket s = new Socket();
        try {
            s.connect(addr, (int) Math.min(Integer.MAX_VALUE, o.timeoutMs));
        } catch (SocketTimeoutException e) {
            s.close();
            throw new IOException("connect to " + host + ":" + port + " timed out");
        } catch (IOException e) {
            s.close();
            throw new IOException("connect to " + host + ":" + port + " failed: " + e.getMessage(), e);
        }
        if (o.verbose) err.println("hv nc: connected to " + s.getRemoteSocketAddress());
        if (!o.tls) return s;
        TlsConfig.Builder b = TlsConfig.client();
        if (o.insecure) b.trustAll();
        else if (o.ca != null) b.trust(java.nio.file.Path.of(o.ca));
        TlsConfig tls = b.build();
        SSLSocket ssl = (SSLSocket) tls.sslContext().getSocketFactory().createSocket(s, host, port, true);
        ssl.setSSLParameters(tls.sslParameters());
        if (o.timeoutMs > 0) ssl.setSoTimeout((int) Math.min(Integer.MAX_VALUE, o.timeoutMs));
        try {
            ssl.startHandshake();
        } catch (IOException e) {
            ssl.close();
            throw new IOException("TLS handshake with " + host + ":" + port + " failed: " + e.getMessage(), e);
        }
        if (o.verbose) err.println("hv nc: " + ssl.getSession().getProtocol() + " with " + host);
        return ssl;
    }

    private static Socket accept(Options o, PrintStream err) throws IOException {
        String host = o.operands.size() == 2 ? o.operands.get(0) : "0.0.0.0";
        int port = port(o.operands.get(o.operands.size() - 1));
        try (ServerSocket ss = new ServerSocket()) {
            ss.setReuseAddress(true);
            ss.bind(new InetSocketAddress(host, port), 1);
            err.println("hv nc: listening on " + host + ":" + ss.getLocalPort());
            err.flush();
            if (o.timeoutMs > 0) ss.setSoTimeout((int) Math.min(Integer.MAX_VALUE, o.timeoutMs));
            try {
                Socket s = ss.accept();
                if (o.verbose) err.println("hv nc: connection from " + s.getRemoteSocketAddress());
                return s;
            } catch (SocketTimeoutException e) {
                throw new IOException("no connection within " + o.timeoutMs + " ms");
            }
        }
    }

    /**
     * stdin to the socket on a thread of its own; the socket to stdout on this one. Ends when both
     * directions have ended: the peer's end of stream and the end of stdin (each side half-closes on
     * its own, so a peer that half-closes first still gets all of stdin), or a failure.
     */
    private static int relay(Socket s, Options o, InputStream in, PrintStream out, PrintStream err) throws IOException {
        try (s) {
            if (o.timeoutMs > 0) s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, o.timeoutMs));
            OutputStream sockOut = s.getOutputStream();
            IOException[] sendFailed = new IOException[1];
            Thread pump = Thread.ofPlatform().daemon().name("hv-nc-stdin").start(() -> {
                byte[] b = new byte[64 * 1024];
                try {
                    int n;
                    while ((n = in.read(b)) > 0) {
                        sockOut.write(b, 0, n);
                        sockOut.flush();
                    }
                    halfClose(s);
                    if (o.verbose) err.println("hv nc: end of stdin; output shut down");
                } catch (IOException e) {
                    if (!s.isClosed()) sendFailed[0] = e;
                }
            });
            InputStream sockIn = s.getInputStream();
            byte[] b = new byte[64 * 1024];
            try {
                int n;
                while ((n = sockIn.read(b)) > 0) {
                    out.write(b, 0, n);
                    out.flush();
                }
            } catch (SocketTimeoutException e) {
                err.println("hv nc: nothing received for " + o.timeoutMs + " ms; closing");
                return 1;
            } catch (IOException e) {
                if (!s.isClosed()) {
                    err.println("hv nc: " + e.getMessage());
                    return 1;
                }
            }
            if (o.verbose) err.println("hv nc: end of stream from the peer");
            try {
                pump.join(); // the rest of stdin still goes out (the peer may have only half-closed)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
            if (sendFailed[0] != null) {
                err.println("hv nc: sending failed: " + sendFailed[0].getMessage());
                return 1;
            }
            return 0;
        }
    }

    private static void halfClose(Socket s) throws IOException {
        try {
            s.shutdownOutput(); // with TLS: close_notify, then FIN
        } catch (UnsupportedOperationException e) {
            // no half-close here: the peer's close still ends the session
        }
    }

    private static int udp(Options o, InputStream in, PrintStream out, PrintStream err) throws IOException {
        long wait = o.timeoutMs > 0 ? o.timeoutMs : 2000;
        if (o.listen) {
            String host = o.operands.size() == 2 ? o.operands.get(0) : "0.0.0.0";
            int port = port(o.operands.get(o.operands.size() - 1));
            try (DatagramSocket d = new DatagramSocket(new InetSocketAddress(host, port))) {
                err.println("hv nc: listening (UDP) on " + host + ":" + d.getLocalPort());
                if (o.timeoutMs > 0) d.setSoTimeout((int) Math.min(Integer.MAX_VALUE, o.timeoutMs));
                byte[] b = new byte[65_536];
                DatagramPacket p = new DatagramPacket(b, b.length);
                try {
                    d.receive(p);
                } catch (SocketTimeoutException e) {
                    err.println("hv nc: no datagram within " + o.timeoutMs + " ms");
                    return 1;
                }
                d.connect(p.getSocketAddress()); // from now on, this peer only (as nc -u -l)
                out.write(b, 0, p.getLength());
                out.flush();
                return udpRelay(d, wait, in, out, err);
            }
        }
        String host = o.operands.get(0);
        int port = port(o.operands.get(1));
        InetSocketAddress addr = new InetSocketAddress(host, port);
        if (addr.isUnresolved()) throw new IOException("cannot resolve " + host);
        try (DatagramSocket d = new DatagramSocket()) {
            d.connect(addr);
            return udpRelay(d, wait, in, out, err);
        }
    }

    private static int udpRelay(DatagramSocket d, long wait, InputStream in, PrintStream out, PrintStream err) throws IOException {
        Thread reader = Thread.ofPlatform().daemon().name("hv-nc-udp").start(() -> {
            byte[] b = new byte[65_536];
            DatagramPacket p = new DatagramPacket(b, b.length);
            while (!d.isClosed()) {
                try {
                    d.receive(p);
                    synchronized (out) {
                        out.write(b, 0, p.getLength());
                        out.flush();
                    }
                    p.setLength(b.length);
                } catch (IOException e) {
                    if (!d.isClosed()) err.println("hv nc: " + e.getMessage()); // ICMP port unreachable, say
                    if (d.isClosed()) return;
                }
            }
        });
        byte[] b = new byte[65_507];
        int n;
        while ((n = in.read(b)) > 0) d.send(new DatagramPacket(b, n));
        try {
            reader.join(wait); // replies to what was sent, for a while
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        d.close();
        return 0;
    }

    private static int scan(Options o, PrintStream out, PrintStream err) {
        String host = o.operands.get(0);
        String range = o.operands.get(1);
        int dash = range.indexOf('-');
        int from = port(dash < 0 ? range : range.substring(0, dash));
        int to = dash < 0 ? from : port(range.substring(dash + 1));
        if (from < 1 || to < from) throw new Args.UsageException("bad port range: " + range);
        int timeout = (int) Math.min(Integer.MAX_VALUE, o.timeoutMs > 0 ? o.timeoutMs : 2000);
        InetSocketAddress probe = new InetSocketAddress(host, from);
        if (probe.isUnresolved()) {
            err.println("hv nc: cannot resolve " + host);
            return 1;
        }
        int open = 0;
        for (int p = from; p <= to; p++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(probe.getAddress(), p), timeout);
                out.println(host + " " + p + " open");
                open++;
            } catch (IOException e) {
                if (o.verbose) err.println("hv nc: " + host + " " + p + ": " + e.getMessage());
            }
        }
        out.flush();
        return open > 0 ? 0 : 1;
    }
}
