"""RSS per idle TLS keep-alive connection: the TLS twin of ../shared/bench/idle-conns.py.

usage: python3 bench/idle-tls.py PORT PID N CAFILE [SERVER_NAME]

Opens N TLS connections to 127.0.0.1:PORT (verifying against CAFILE, SNI
SERVER_NAME, default localhost), sends one GET /1k on each and reads its answer,
keeps them all open and idle, waits 1 s, and prints the growth of process PID's RSS
per connection. Made for comparing sluice's [tls] listener with HAProxy's
`bind ... ssl crt` on the same certificate (bench/PROFILE.md).
"""
import socket
import ssl
import sys
import time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS")


def main():
    port, pid, n, cafile = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    name = sys.argv[5] if len(sys.argv) > 5 else "localhost"
    ctx = ssl.create_default_context(cafile=cafile)
    request = f"GET /1k HTTP/1.1\r\nHost: {name}\r\n\r\n".encode()
    before = rss_kib(pid)
    socks = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=name)
        s.sendall(request)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            if b"\r\n\r\n" in buf and len(buf) >= buf.index(b"\r\n\r\n") + 4 + 1024:
                break
        socks.append(s)
    time.sleep(1)
    after = rss_kib(pid)
    print(f"TLS port {port}: {len(socks)}/{n} answered, RSS {before}KiB -> {after}KiB, "
          f"per conn {(after - before) * 1024 / n:.0f} B")
    for s in socks:
        s.close()


main()
