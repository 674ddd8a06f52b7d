"""What the tap tests share: a private network namespace as root, shell and log helpers, and
stopping campd and saying the verdict."""
import os
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77  # meson's exit status for a skipped test


def enter_private_netns():
    """None once running as root in a network namespace of the test's own (re-running this
    script there); otherwise the exit status to return: SKIP without root and /dev/net/tun, or
    that of the re-run."""
    if os.geteuid() != 0 or not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        print("needs root and /dev/net/tun: skipping")
        return SKIP
    if os.environ.get("CAMP_QUIC_TAP_NETNS") == "1":
        sh("ip link set lo up")
        return None
    env = dict(os.environ, CAMP_QUIC_TAP_NETNS="1")
    return subprocess.run(["unshare", "--net", sys.executable] + sys.argv, env=env).returncode


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def wait_for(path, text, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if os.path.exists(path) and text in open(path, errors="replace").read():
            return True
        time.sleep(0.1)
    return False


def stop(proc):
    """SIGINT, as a user stops campd; killed if it does not exit within 15 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def verdict(failure, campd_proc, tmp, campd_log):
    """The exit status: 1 on a failure (printed with campd's log) or a campd that did not exit
    cleanly; 0 (and the temporary directory removed) otherwise."""
    if failure:
        print(campd_log)
        print("FAIL:", failure)
        return 1
    if campd_proc.returncode != 0:
        print("FAIL: campd exited", campd_proc.returncode)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0
