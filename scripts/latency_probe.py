#!/usr/bin/env python3
"""A 1-ms latency probe: sends PING every millisecond on one connection and reports the
largest round trip seen, until the file named by --until exists or --seconds pass.

Used by scripts/resize-latency.sh to see whether a server stalls while its keyspace grows."""
import argparse, os, socket, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--until", help="stop when this file exists")
    ap.add_argument("--seconds", type=float, default=600)
    args = ap.parse_args()
    sock = socket.create_connection(("127.0.0.1", args.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    worst, samples, total = 0.0, 0, 0.0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        if args.until and os.path.exists(args.until):
            break
        start = time.perf_counter()
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(64)
            if not chunk:
                raise SystemExit("server closed the connection")
            reply += chunk
        rtt = (time.perf_counter() - start) * 1000
        worst = max(worst, rtt)
        total += rtt
        samples += 1
        time.sleep(0.001)
    print(f"samples={samples} avg_ms={total / max(samples, 1):.3f} max_ms={worst:.3f}")

if __name__ == "__main__":
    main()
