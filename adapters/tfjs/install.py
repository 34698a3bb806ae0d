"""The tfjs target's Node packages: `npm ci` of package.json + package-lock.json (beside this file)
into `$RNNCONF_CACHE/tfjs` (default ~/.cache/rnnconf/tfjs) on first use, reused while its stamp
records the same lockfile. Install scripts are not run (tfjs' only one is core-js' banner)."""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys

from rnnconf.adapters import targets

HERE = os.path.dirname(os.path.abspath(__file__))
TFJS_VERSION = "4.22.0"
STAMP = "rnnconf-tfjs.stamp"


class NodeSetupError(ImportError):
    """Node or the tfjs packages are not available: one line for the user (an ImportError, so that
    resolving `--impl tfjs` fails as a set-up error)."""


def root():
    return os.path.join(targets.cache_dir(), "tfjs")


def node_modules():
    return os.path.join(root(), "node_modules")


def _lock_digest():
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def installed():
    """Whether the cache holds exactly the locked packages."""
    try:
        with open(os.path.join(root(), STAMP)) as f:
            return f.read().strip() == _lock_digest() and os.path.isdir(node_modules())
    except OSError:
        return False


def node_available():
    return shutil.which("node") is not None


def ensure(log=None):
    """The node_modules folder holding @tensorflow/tfjs, installing it first if needed."""
    log = log or sys.stderr
    if not node_available():
        raise NodeSetupError("target tfjs needs Node.js (`node` on PATH): https://nodejs.org")
    if installed():
        return node_modules()
    os.makedirs(root(), exist_ok=True)
    with open(root() + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several workers may start at once: one installs
        if installed():
            return node_modules()
        if shutil.which("npm") is None:
            raise NodeSetupError("target tfjs needs npm to install @tensorflow/tfjs on first use")
        print(f"rnnconf: installing @tensorflow/tfjs {TFJS_VERSION} into {root()} (npm ci)", file=log, flush=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(HERE, name), os.path.join(root(), name))
        done = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=root(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log.write(done.stdout)
        if done.returncode != 0:
            raise NodeSetupError(f"target tfjs: npm ci in {root()} failed (exit {done.returncode})")
        with open(os.path.join(root(), STAMP), "w") as f:
            f.write(_lock_digest())
    return node_modules()


if __name__ == "__main__":  # python -m rnnconf.adapters.tfjs.install: what `rnnconf check --impl tfjs` does first
    print(ensure())
