#!/usr/bin/env python3
"""camp-client fetches files from campd over hq-interop (QUIC v1), campd running on a DPDK tap
device (net_tap) inside a network namespace of the test's own, the kernel's UDP stack on the other
side. The files must match byte for byte, and a capture of the exchange must decode as QUIC in
tshark with the client's key log (SSLKEYLOGFILE): the handshake's ClientHello and the STREAM frames.
Needs root and /dev/net/tun; exits 77 (meson's SKIP) otherwise.
Usage: quic_tap_test.py CAMPD CAMP_CLIENT CERTGEN
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tap_env import enter_private_netns, sh, stop, verdict, wait_for

IFACE = "campq0"


def main():
    status = enter_private_netns()  # everything happens in a namespace of the test's own
    if status is not None:
        return status
    campd, client, certgen = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="camp-quic-tap-")
    subprocess.run([certgen, tmp], check=True)
    www, out = os.path.join(tmp, "www"), os.path.join(tmp, "out")
    os.mkdir(www)
    os.mkdir(out)
    files = {"big.bin": os.urandom(4 * 1024 * 1024), "small.txt": b"hello over DPDK\n"}
    for name, data in files.items():
        with open(os.path.join(www, name), "wb") as f:
            f.write(data)

    log = os.path.join(tmp, "campd.log")
    prefix = f"camp-qt-{os.getpid()}"
    campd_proc = subprocess.Popen(
        [campd, "-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefix,
         "--vdev", f"net_tap0,iface={IFACE}", "--", "--addr", "198.18.0.1", "--udp-port", "4433",
         "--www", www, "--cert", os.path.join(tmp, "server.pem"),
         "--key", os.path.join(tmp, "server.key"), "--ctl-socket", os.path.join(tmp, "ctl.sock"),
         "--idle-sleep-us", "50"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT)
    cap_proc = None
    failure = None
    try:
        if not wait_for(log, "ready", 20):
            raise RuntimeError("campd did not start")
        sh(f"ip addr add 198.18.0.2/24 dev {IFACE}; ip link set {IFACE} up")
        cap = os.path.join(tmp, "quic.pcapng")
        tshark = shutil.which("tshark")
        if tshark:
            cap_proc = subprocess.Popen([tshark, "-i", IFACE, "-w", cap, "-q"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
        keys = os.path.join(tmp, "keys.log")
        urls = [f"https://198.18.0.1:4433/{n}" for n in files]
        t0 = time.monotonic()
        r = subprocess.run([client, "--ca", os.path.join(tmp, "ca.pem"), "--out", out,
                            "--timeout", "30"] + urls,
                           env=dict(os.environ, SSLKEYLOGFILE=keys), capture_output=True,
                           text=True, timeout=60)
        print(f"camp-client ({time.monotonic() - t0:.2f} s, rc {r.returncode}):\n{r.stdout}{r.stderr}")
        if r.returncode != 0:
            raise RuntimeError("camp-client failed")
        for name, data in files.items():
            got = open(os.path.join(out, name), "rb").read()
            if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
                raise RuntimeError(f"{name} differs from the served file")
        if not os.path.getsize(keys):
            raise RuntimeError("no key log written")
        if tshark:
            time.sleep(0.5)
            cap_proc.send_signal(signal.SIGINT)
            cap_proc.wait(timeout=10)
            cap_proc = None

            def count(display_filter):
                t = subprocess.run([tshark, "-r", cap, "-o", f"tls.keylog_file:{keys}", "-Y",
                                    display_filter], capture_output=True, text=True)
                return len([l for l in t.stdout.splitlines() if l.strip()])
            hello = count("tls.handshake.type == 1")
            streams = count("quic.stream.stream_id")
            print(f"tshark: {hello} ClientHello, {streams} packets with STREAM frames")
            if hello < 1 or streams < 10:
                raise RuntimeError("the capture does not decode as QUIC with the key log")
        else:
            raise RuntimeError("tshark is not installed (tools/camp setup installs it)")
    except Exception as e:  # noqa: BLE001 - report any failure with campd's log
        failure = str(e)
    finally:
        if cap_proc:
            cap_proc.kill()
        stop(campd_proc)
    campd_log = open(log, errors="replace").read()
    if not failure:
        print(campd_log)
    return verdict(failure, campd_proc, tmp, campd_log)


if __name__ == "__main__":
    sys.exit(main())
