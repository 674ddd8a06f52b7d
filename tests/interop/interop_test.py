#!/usr/bin/env python3
"""Interop over hq-interop on 127.0.0.1: a server and a client exchange a 10 MB and a small file
(SHA-256 checked); plain, with resumption, with a key update, behind Retry, and a client that
trusts another CA must refuse the server. DATAGRAM: the client sends 200 DATAGRAMs which the server
echoes (every one must come back on loopback). Lossy: through sim_relay (the simulator's link
models: 10 ms delay, 2 ms jitter, 3% loss and 5% reordering each way) the client fetches a 2 MB
file (SHA-256 checked) with DATAGRAMs alongside, and the relay must have dropped and reordered
packets. Each role is ngtcp2_peer (libngtcp2) or camp's own (campd --driver socket --www,
camp-client).
Usage: interop_test.py [--server ngtcp2|camp] [--client ngtcp2|camp] [--relay SIM_RELAY]
                       PEER CERTGEN [CAMPD CLIENT]
       (or --skip: exit 77, meson's SKIP, when libngtcp2 is absent)
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def key_updates(out):
    """ngtcp2 derives the next key generation once per completed update (and once at start)."""
    for line in out.splitlines():
        if "(key updates: " in line:
            return int(line.split("(key updates: ")[1].rstrip(")"))
    raise Failure("client did not report key updates")


class Failure(Exception):
    pass


DATAGRAM_LINE = re.compile(r"datagrams: sent (\d+), acked (\d+), lost (\d+), echoed (\d+)"
                           r"(?:, pending (\d+))?")


def datagram_counts(out, label):
    """The client's DATAGRAM tally (camp-client and ngtcp2_peer print the same line)."""
    m = DATAGRAM_LINE.search(out)
    if not m:
        raise Failure(f"{label}: client printed no datagram tally")
    sent, acked, lost, echoed = (int(m.group(i)) for i in range(1, 5))
    pending = int(m.group(5) or 0)
    if "bad" in out[m.start():].splitlines()[0]:
        raise Failure(f"{label}: echoed DATAGRAMs differ from those sent")
    if acked + lost + pending != sent or pending:
        raise Failure(f"{label}: {pending} DATAGRAMs neither acknowledged nor lost")
    return sent, acked, lost, echoed


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--skip":
        print("libngtcp2 / libngtcp2_crypto_gnutls not found: skipping")
        return 77
    args = sys.argv[1:]
    roles = {"--server": "ngtcp2", "--client": "ngtcp2", "--relay": None}
    while args and args[0] in roles:
        roles[args[0]] = args[1]
        args = args[2:]
    relay = roles["--relay"]
    peer, certgen = args[0], args[1]
    campd, camp_client = (args[2], args[3]) if len(args) >= 4 else (None, None)
    camp_server = roles["--server"] == "camp"
    client_bin = camp_client if roles["--client"] == "camp" else peer
    client_args = [] if roles["--client"] == "camp" else ["client"]
    tmp = tempfile.mkdtemp(prefix="camp-interop-")
    subprocess.run([certgen, tmp], check=True)
    www = os.path.join(tmp, "www")
    os.mkdir(www)
    files = {"big.bin": os.urandom(10 * 1024 * 1024), "small.txt": b"hello, hq-interop\n"}
    lossy_file = {"lossy.bin": os.urandom(2 * 1024 * 1024)}
    for name, data in list(files.items()) + list(lossy_file.items()):
        with open(os.path.join(www, name), "wb") as f:
            f.write(data)

    qlog_dir = os.path.join(tmp, "qlog")
    os.mkdir(qlog_dir)

    def check_qlog(role):
        """camp's qlog: JSON-SEQ records (RS ... LF) with packets sent and received."""
        names = [n for n in os.listdir(qlog_dir) if n.endswith(f"{role}.sqlog")]
        if not names:
            raise Failure(f"no {role} qlog written")
        data = open(os.path.join(qlog_dir, names[0]), "rb").read()
        if not data.startswith(b"\x1e{") or b"transport:packet_sent" not in data or \
                b"transport:packet_received" not in data:
            raise Failure(f"{role} qlog lacks JSON-SEQ packet events")

    def start_server(retry):
        port = free_udp_port()
        common = ["--listen", f"127.0.0.1:{port}", "--www", www,
                  "--cert", os.path.join(tmp, "server.pem"), "--key", os.path.join(tmp, "server.key")]
        if camp_server:
            args = [campd, "--", "--driver", "socket", "--duration", "60",
                    "--ctl-socket", os.path.join(tmp, f"ctl-{port}.sock"), "--qlog", qlog_dir] + common
        else:
            args = [peer, "server"] + common + ["--timeout", "60"]
        if retry:
            args.append("--retry")
        log = open(os.path.join(tmp, f"server-{port}.log"), "w")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(0.2)
        if proc.poll() is not None:
            raise Failure("server exited at start")
        return proc, port, log.name

    def fetch(port, label, extra, want=None, timeout=15, tally=False, expect_fail=False):
        """Runs the client; with tally the DATAGRAM counts are checked first (a client that
        exits 1 for want of echoes says more through them than through its exit code).
        expect_fail: exit 1 is expected (the files must still arrive whole)."""
        want = want or files
        out = os.path.join(tmp, "out-" + label)
        os.mkdir(out)
        urls = [f"https://localhost:{port}/{n}" for n in want]
        args = [client_bin] + client_args + ["--ca", os.path.join(tmp, "ca.pem"), "--out", out,
                                             "--timeout", str(timeout)] + extra + urls
        t0 = time.monotonic()
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        dt = time.monotonic() - t0
        print(f"--- {label} ({dt:.2f} s, rc {r.returncode})\n{r.stdout}{r.stderr}", end="")
        if tally:
            counts = datagram_counts(r.stdout, label)
            sent, _, lost, echoed = counts
            if echoed == 0:
                hint = " (campd must run hq::Server::on_progress(Connection&), which echoes)" \
                    if camp_server else ""
                raise Failure(f"{label}: {sent} DATAGRAMs sent, none echoed{hint}")
        if r.returncode != (1 if expect_fail else 0):
            raise Failure(f"{label}: client exited {r.returncode}")
        for name, data in want.items():
            got = os.path.join(out, name)
            if not os.path.exists(got) or sha256(got) != hashlib.sha256(data).hexdigest():
                raise Failure(f"{label}: {name} differs from the served file")
        return counts if tally else r.stdout

    def lossy(port):
        """The client reaches the server through sim_relay: delay, jitter, loss, reordering."""
        rport = free_udp_port()
        stats = os.path.join(tmp, "relay-stats.json")
        log = open(os.path.join(tmp, "relay.log"), "w")
        rp = subprocess.Popen([relay, "--listen", f"127.0.0.1:{rport}", "--to", f"127.0.0.1:{port}",
                               "--delay-ms", "10", "--jitter-ms", "2", "--loss", "0.03",
                               "--reorder", "0.05", "--reorder-ms", "5", "--seed", "7",
                               "--stats", stats, "--duration", "60"],
                              stdout=log, stderr=subprocess.STDOUT)
        procs.append(rp)
        time.sleep(0.1)
        if rp.poll() is not None:
            raise Failure("sim_relay exited at start")
        try:
            sent, acked, lost, echoed = fetch(rport, "lossy", ["--datagrams", "100"],
                                              want=lossy_file, timeout=25, tally=True)
        finally:
            rp.send_signal(signal.SIGTERM)
            rp.wait(timeout=5)
        with open(stats) as f:
            st = json.load(f)
        print(f"--- relay: up {st['up']}\n    down {st['down']}")
        for d in ("up", "down"):
            if st[d]["dropped_loss"] == 0 or st[d]["forwarded"] == 0:
                raise Failure(f"lossy: the relay dropped nothing {d}")
        if st["reordered"] == 0:
            raise Failure("lossy: the relay reordered nothing")
        if sent != 100:
            raise Failure(f"lossy: DATAGRAMs sent {sent}, echoed {echoed}")

    procs = []
    try:
        srv, port, srv_log = start_server(retry=False)
        procs.append(srv)
        session = os.path.join(tmp, "session.bin")
        client_is_camp = roles["--client"] == "camp"
        out = fetch(port, "plain",
                    ["--session", session] + (["--qlog", qlog_dir] if client_is_camp else []))
        if client_is_camp:
            check_qlog("client")
        if "resumed: no" not in out:
            raise Failure("first connection claims resumption")
        if not os.path.getsize(session):
            raise Failure("no session ticket stored")
        out = fetch(port, "resumed", ["--session", session])
        if "resumed: yes" not in out:
            raise Failure("second connection was not resumed")
        base_updates = key_updates(out)
        out = fetch(port, "key-update", ["--key-update"])
        if "key update initiated" not in out or key_updates(out) <= base_updates:
            raise Failure("key update not initiated or not completed")
        if client_is_camp:
            # Connection migration (RFC 9000 9.2): after 1 MiB camp-client moves to a second
            # local address (127.0.0.2), with a new connection ID; the server must answer the
            # PATH_CHALLENGE there and keep sending. The files still match.
            out = fetch(port, "migrate", ["--path", "127.0.0.1:0", "--path", "127.0.0.2:0",
                                          "--migrate"])
            if "migrating to local port" not in out or "new path validated" not in out:
                raise Failure("migrate: the client did not move to a validated new path")
            # Multipath (draft-21) from two local addresses. Against campd both paths carry
            # data; a server without multipath (ngtcp2) must leave camp-client on one path.
            out = fetch(port, "multipath", ["--path", "127.0.0.1:0", "--path", "127.0.0.2:0"],
                        expect_fail=not camp_server)
            if camp_server:
                if "more than one path validated" not in out:
                    raise Failure("multipath: no second path validated against campd")
                got = [int(n) for n in re.findall(r"path \d: .* received (\d+) packets", out)]
                if len(got) != 2 or min(got) < 100:
                    raise Failure(f"multipath: packets received per path {got}")
            elif "multipath not negotiated" not in out:
                raise Failure("multipath: camp-client claims multipath with a server without it")
        if camp_server:
            time.sleep(0.3)  # the connections' draining periods end, their qlogs are flushed
            check_qlog("server")

        # DATAGRAM both ways: the server echoes each one; on loopback every echo comes back (a
        # loss is tolerated only when the client's stack reported it).
        sent, acked, lost, echoed = fetch(port, "datagram", ["--datagrams", "200"],
                                          want={"small.txt": files["small.txt"]}, tally=True)
        if sent != 200 or sent - echoed > lost + 1:
            raise Failure(f"datagram: sent {sent}, lost {lost}, but only {echoed} echoed")
        if not camp_server:
            time.sleep(0.1)
            with open(srv_log) as f:
                m = re.findall(r"datagrams received: (\d+), echoed: (\d+)", f.read())
            if not m or int(m[-1][1]) < echoed:
                raise Failure("server log lacks the DATAGRAM echoes")

        if relay:
            lossy(port)

        srv2, port2, log2 = start_server(retry=True)
        procs.append(srv2)
        out = fetch(port2, "retry", [])
        if "retry: yes" not in out:
            raise Failure("client did not see a Retry")
        time.sleep(0.1)
        if not camp_server:
            with open(log2) as f:
                if "sent retry" not in f.read():
                    raise Failure("server log lacks the Retry")
        # Trusting only another CA, the client must refuse the server's certificate.
        other = os.path.join(tmp, "other-ca")
        os.mkdir(other)
        subprocess.run([certgen, other], check=True)
        r = subprocess.run([client_bin] + client_args + ["--ca", os.path.join(other, "ca.pem"),
                            "--timeout", "5", f"https://localhost:{port}/small.txt"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            raise Failure("client accepted a certificate it cannot verify")
    except Failure as e:
        print("FAIL:", e)
        for p in procs:
            p.kill()
        for name in sorted(os.listdir(tmp)):
            if name.startswith("server-") or name == "relay.log":
                print(f"--- {name}\n" + open(os.path.join(tmp, name)).read())
        return 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
    print("PASS")
    subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
