#!/usr/bin/env python3
"""Multipath QUIC (draft-ietf-quic-multipath-21) through the real binaries: campd with two worker
lcores on one DPDK tap port (net_tap, two queue pairs) inside a network namespace of the test's
own, and camp-client on the kernel's UDP stack with two local addresses (--path), fetching a file
over hq-interop. The file must match byte for byte; camp-client's per-path lines must show both
paths validated and carrying data; campd's final counters (--json) must show no drops of concern
(packets of no connection, answered with Stateless Resets; undecryptable ones beyond a few late
Handshake probes; full rings; missing mbufs), only the owning worker may have handled QUIC
datagrams, and every datagram one worker steered to another must have arrived there.
The steering counters are reported, not asserted: the kernel's tun device picks a flow's rx queue
by its hash until campd sends on that flow, and from then on the queue campd sent it on, which is
the owner's; so path 1 reaches the other worker (and is steered) for at most its first packets,
and only in some runs. tests/dpdk/multipath_e2e_test.cc covers steering under load.
While the file moves, campctl works on the live connection: `paths --json` lists both paths,
`path ID 1 backup` and `available` are acknowledged and show in the next listing, and
`set scheduler rr` changes the connection's scheduler.
Needs root and /dev/net/tun; exits 77 (meson's SKIP) otherwise.
Usage: quic_tap_multipath_test.py CAMPD CAMP_CLIENT CERTGEN CAMPCTL
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from tap_env import enter_private_netns, sh, stop, verdict, wait_for

IFACE = "campm0"
SERVER = "198.18.0.1"
CLIENT_ADDRS = ["198.18.0.2", "198.18.0.3"]
# Large enough that the transfer outlasts the campctl steps even at this machine's best rate.
FILE_BYTES = 48 * 1024 * 1024 + 4321
# Drops campd may count that have nothing to do with the QUIC traffic: the kernel's own IPv6
# neighbour discovery, MLD and router solicitations on the tap interface, and other frames a fresh
# interface sends. Everything else must stay zero.
KERNEL_NOISE = {"eth_not_for_us", "eth_unknown_type", "ipv6_not_for_us",
                "ipv6_unknown_next_header", "icmpv6_unsupported_type", "nd_not_for_us",
                "nd_malformed", "arp_not_for_us", "ipv4_not_for_us", "icmp_unsupported_type"}
# A client's Handshake probe (PTO) that reaches campd after the connection confirmed the handshake
# and discarded its Handshake keys is dropped as undecryptable (RFC 9001 4.9.2): on a loaded machine
# the server's answer can take longer than the client's first PTO. A few, never more.
MAX_LATE_HANDSHAKE = 8
PATH_LINE = re.compile(r"^path (\d+): local port (\d+), (validated|not validated)(, abandoned)?, "
                       r"sent (\d+) packets, received (\d+) packets \((\d+) bytes\), lost (\d+)$")


def final_counters(log):
    """campd's last line that parses as a JSON object: the final counters (--json)."""
    for line in reversed(open(log, errors="replace").read().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def check_client(stdout):
    paths = {}
    for line in stdout.splitlines():
        m = PATH_LINE.match(line.strip())
        if m:
            paths[int(m.group(1))] = {"validated": m.group(3) == "validated",
                                      "abandoned": bool(m.group(4)),
                                      "sent": int(m.group(5)), "received": int(m.group(6)),
                                      "bytes": int(m.group(7))}
    if sorted(paths) != [0, 1]:
        raise RuntimeError(f"camp-client reported paths {sorted(paths)}, not 0 and 1")
    if "multipath: more than one path validated" not in stdout:
        raise RuntimeError("camp-client did not report a second validated path")
    total = sum(p["bytes"] for p in paths.values())
    for pid, p in sorted(paths.items()):
        share = p["bytes"] / total if total else 0
        print(f"client path {pid}: {p['received']} packets, {p['bytes']} bytes received "
              f"({100 * share:.1f}%), {p['sent']} sent")
        if not p["validated"] or p["abandoned"]:
            raise RuntimeError(f"path {pid} is not validated, or was abandoned")
        # Carrying data: well beyond the handshake and validation (a few KB), on either path.
        if p["bytes"] < 256 * 1024:
            raise RuntimeError(f"path {pid} carried only {p['bytes']} bytes")
    return paths


def campctl_steps(ctl, sock, client_proc):
    """Works on the live connection through campctl; returns what it saw."""
    def run(*args):
        r = subprocess.run([ctl, "--socket", sock] + list(args), capture_output=True, text=True,
                           timeout=10)
        print(f"$ campctl {' '.join(args)}  (rc {r.returncode})\n{r.stdout}{r.stderr}", end="")
        return r

    def listing():
        r = run("paths", "--json")
        if r.returncode != 0:
            raise RuntimeError("campctl paths --json failed")
        return json.loads(r.stdout)["connections"]

    end = time.monotonic() + 20
    conn = None
    while time.monotonic() < end and client_proc.poll() is None:
        conns = listing()
        if conns and conns[0]["path_count"] == 2 and all(
                p["state"] == "active" for p in conns[0]["paths"]):
            conn = conns[0]
            break
        time.sleep(0.05)
    if conn is None:
        raise RuntimeError("campctl paths never showed one connection with two active paths")
    if not conn["multipath"] or conn["scheduler"] != "minrtt":
        raise RuntimeError(f"unexpected connection record {conn}")
    cid = conn["id"]
    if run("paths").returncode != 0:
        raise RuntimeError("campctl paths failed")
    r = run("path", cid, "1", "backup")
    if r.returncode != 0 or "PATH_STATUS_BACKUP" not in r.stdout:
        raise RuntimeError("campctl path ... backup failed")
    after = [c for c in listing() if c["id"] == cid]
    if not after or after[0]["paths"][1]["local_status"] != "backup":
        raise RuntimeError("path 1 is not shown as backup after campctl path ... backup")
    r = run("path", cid, "7", "backup")
    if r.returncode != 1 or "no open path with that ID" not in r.stderr + r.stdout:
        raise RuntimeError("campctl path with an unknown path ID was not refused")
    if run("path", cid, "1", "available").returncode != 0:
        raise RuntimeError("campctl path ... available failed")
    if run("set", "scheduler", "rr").returncode != 0:
        raise RuntimeError("campctl set scheduler rr failed")
    after = [c for c in listing() if c["id"] == cid]
    if not after or after[0]["scheduler"] != "rr" or \
            after[0]["paths"][1]["local_status"] != "available":
        raise RuntimeError(f"scheduler/status not as set: {after}")
    if client_proc.poll() is not None:
        raise RuntimeError("the transfer ended before the campctl steps were done")
    return cid


def check_campd(stats):
    if stats is None:
        raise RuntimeError("campd printed no final JSON counters")
    workers = stats["workers"]
    if len(workers) != 2:
        raise RuntimeError(f"campd ran {len(workers)} workers, not 2")
    for w in workers:
        print(f"campd worker {w['worker']} (lcore {w['lcore']}): rx {w['rx_packets']}, "
              f"udp_rx {w['udp_rx']}, udp_tx {w['udp_tx']}, steered_out {w['steered_out']}, "
              f"steered_in {w['steered_in']}, steer_held {w['steer_held']}, "
              f"steer_drained {w['steer_drained']}, dropped {w['dropped']}")
    late = stats["drops"].get("quic_undecryptable", 0)
    if late:
        print(f"campd dropped {late} undecryptable packets (late Handshake probes, allowed up to "
              f"{MAX_LATE_HANDSHAKE})")
    bad = {k: v for k, v in stats["drops"].items()
           if v and k not in KERNEL_NOISE and not (k == "quic_undecryptable" and
                                                   v <= MAX_LATE_HANDSHAKE)}
    noise = {k: v for k, v in stats["drops"].items() if v and k in KERNEL_NOISE}
    if noise:
        print(f"campd drops of kernel noise (allowed): {noise}")
    if bad:
        raise RuntimeError(f"campd dropped packets: {bad}")
    # Steering lost nothing: what one worker handed over, the other took (or freed at quit).
    if stats["steered_out"] != stats["steered_in"] + stats["steer_drained"]:
        raise RuntimeError("steered_out != steered_in + steer_drained")
    if stats["steer_drained"]:
        raise RuntimeError(f"{stats['steer_drained']} steered datagrams were left at quit")
    # Only the owner's endpoint handled the connection's packets: every packet after the client's
    # first Initial carries a CID naming the owner, so whatever reached the other worker went on
    # to the owner through the ring.
    handled = [w for w in workers if w["udp_rx"] or w["udp_tx"]]
    if len(handled) != 1:
        raise RuntimeError(f"{len(handled)} workers handled QUIC datagrams, not exactly the owner")
    print(f"steering: steered_out {stats['steered_out']}, steered_in {stats['steered_in']}")
    for p in stats["ports"]:
        print(f"port {p['port']}: ipackets {p['ipackets']}, opackets {p['opackets']}, "
              f"imissed {p['imissed']}, ierrors {p['ierrors']}, oerrors {p['oerrors']}, "
              f"rx_nombuf {p['rx_nombuf']}")
        if p["rx_nombuf"]:
            raise RuntimeError(f"port {p['port']} ran out of rx mbufs")


def main():
    status = enter_private_netns()  # everything happens in a namespace of the test's own
    if status is not None:
        return status
    campd, client, certgen, campctl = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix="camp-quic-tap-mp-")
    subprocess.run([certgen, tmp], check=True)
    www, out = os.path.join(tmp, "www"), os.path.join(tmp, "out")
    os.mkdir(www)
    os.mkdir(out)
    data = os.urandom(FILE_BYTES)
    with open(os.path.join(www, "big.bin"), "wb") as f:
        f.write(data)

    log = os.path.join(tmp, "campd.log")
    prefix = f"camp-qtm-{os.getpid()}"
    # A main lcore and two worker lcores (-l 0-2), each free to run on any CPU this process may
    # use: the machine may have fewer than three.
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    campd_proc = subprocess.Popen(
        [campd, "--lcores", f"0@({cpus}),1@({cpus}),2@({cpus})",
         "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix,
         "--vdev", f"net_tap0,iface={IFACE}", "--", "--addr", SERVER, "--udp-port", "4433",
         "--www", www, "--cert", os.path.join(tmp, "server.pem"),
         "--key", os.path.join(tmp, "server.key"), "--ctl-socket", os.path.join(tmp, "ctl.sock"),
         "--idle-sleep-us", "50", "--json"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT)
    failure = None
    t_client = 0.0
    try:
        if not wait_for(log, "ready", 20):
            raise RuntimeError("campd did not start")
        if "steering between 2 workers" not in open(log, errors="replace").read():
            raise RuntimeError("campd did not set up steering between two workers")
        sh(f"ip addr add {CLIENT_ADDRS[0]}/24 dev {IFACE}; "
           f"ip addr add {CLIENT_ADDRS[1]}/24 dev {IFACE}; ip link set {IFACE} up")
        t0 = time.monotonic()
        client_proc = subprocess.Popen(
            [client, "--ca", os.path.join(tmp, "ca.pem"), "--out", out, "--timeout", "60",
             "--path", CLIENT_ADDRS[0], "--path", CLIENT_ADDRS[1],
             f"https://{SERVER}:4433/big.bin"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            campctl_steps(campctl, os.path.join(tmp, "ctl.sock"), client_proc)
        finally:
            stdout, stderr = client_proc.communicate(timeout=90)
        t_client = time.monotonic() - t0
        print(f"camp-client ({t_client:.2f} s, rc {client_proc.returncode}):\n{stdout}{stderr}")
        if client_proc.returncode != 0:
            raise RuntimeError("camp-client failed")
        got = open(os.path.join(out, "big.bin"), "rb").read()
        if len(got) != len(data) or hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            raise RuntimeError("big.bin differs from the served file")
        print(f"big.bin: {len(got)} bytes, SHA-256 matches, {8 * len(got) / t_client / 1e6:.0f} "
              "Mbit/s including the handshake")
        check_client(stdout)
    except Exception as e:  # noqa: BLE001 - report any failure with campd's log
        failure = str(e)
    finally:
        stop(campd_proc)
    campd_log = open(log, errors="replace").read()
    print("\n".join(l for l in campd_log.splitlines() if not l.startswith("{")))
    if failure is None:
        try:
            check_campd(final_counters(log))
        except Exception as e:  # noqa: BLE001
            failure = str(e)
    return verdict(failure, campd_proc, tmp, campd_log)


if __name__ == "__main__":
    sys.exit(main())
