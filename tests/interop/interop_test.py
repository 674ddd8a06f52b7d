#!/usr/bin/env python3
"""Interop over hq-interop on 127.0.0.1: a server and a client exchange a 10 MB and a small file
(SHA-256 checked); plain, with resumption, with a key update, behind Retry, and a client that
trusts another CA must refuse the server. Each role is ngtcp2_peer (libngtcp2) or camp's own
(campd --driver socket --www, camp-client).
Usage: interop_test.py [--server ngtcp2|camp] [--client ngtcp2|camp] PEER CERTGEN [CAMPD CLIENT]
       (or --skip: exit 77, meson's SKIP, when libngtcp2 is absent)
"""
import hashlib
import os
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


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--skip":
        print("libngtcp2 / libngtcp2_crypto_gnutls not found: skipping")
        return 77
    args = sys.argv[1:]
    roles = {"--server": "ngtcp2", "--client": "ngtcp2"}
    while args and args[0] in roles:
        roles[args[0]] = args[1]
        args = args[2:]
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
    for name, data in files.items():
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
            args = [campd, "--", "--driver", "socket", "--duration", "30",
                    "--ctl-socket", os.path.join(tmp, f"ctl-{port}.sock"), "--qlog", qlog_dir] + common
        else:
            args = [peer, "server"] + common + ["--timeout", "30"]
        if retry:
            args.append("--retry")
        log = open(os.path.join(tmp, f"server-{port}.log"), "w")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(0.2)
        if proc.poll() is not None:
            raise Failure("server exited at start")
        return proc, port, log.name

    def fetch(port, label, extra):
        out = os.path.join(tmp, "out-" + label)
        os.mkdir(out)
        urls = [f"https://localhost:{port}/{n}" for n in files]
        args = [client_bin] + client_args + ["--ca", os.path.join(tmp, "ca.pem"), "--out", out,
                                             "--timeout", "15"] + extra + urls
        t0 = time.monotonic()
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        dt = time.monotonic() - t0
        print(f"--- {label} ({dt:.2f} s, rc {r.returncode})\n{r.stdout}{r.stderr}", end="")
        if r.returncode != 0:
            raise Failure(f"{label}: client exited {r.returncode}")
        for name, data in files.items():
            got = os.path.join(out, name)
            if not os.path.exists(got) or sha256(got) != hashlib.sha256(data).hexdigest():
                raise Failure(f"{label}: {name} differs from the served file")
        return r.stdout

    procs = []
    try:
        srv, port, _ = start_server(retry=False)
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
        if camp_server:
            time.sleep(0.3)  # the connections' draining periods end, their qlogs are flushed
            check_qlog("server")

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
            if name.startswith("server-"):
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
