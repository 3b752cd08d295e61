"""The side-by-side benchmark driver: runs every row and prints one table (see Benchmarks/run)."""
import argparse, atexit, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

parser = argparse.ArgumentParser()
parser.add_argument("--clavis", required=True)
parser.add_argument("--bench", required=True)
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()
quick = args.quick
clavis = args.clavis
rows = []  # (row, clavis, peer, unit, peer name)


def timed(argv, runs, stdin=None, env=None):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, input=stdin, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def interleaved(commands, runs):
    """Medians (ms) of whole-process runs of each (argv, env) in `commands`, taken in turn within
    each round, so drift of the machine during the run affects every command alike."""
    times = [[] for _ in commands]
    for _ in range(runs):
        for index, (argv, env) in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
            times[index].append((time.perf_counter() - start) * 1000)
    return [statistics.median(t) for t in times]


work = tempfile.mkdtemp(prefix="clavis-bench-")
atexit.register(shutil.rmtree, work, True)   # it holds a key file: never leave it behind
started = time.time()

# 1. Token cache, cold start, Key Vault cached read, Defender paging (in-process, clavis-bench).
out = subprocess.run([args.bench, "2000" if quick else "100000", "--json"], capture_output=True, text=True, check=True).stdout
for line in out.splitlines():
    item = json.loads(line)
    rows.append((item["row"], item["clavis"], item.get("peer"), item["unit"], item["peer_name"]))

# 2. Keyring read: whole processes.
runs = 5 if quick else 100
value = b"benchmark-value"
subprocess.run([clavis, "secret", "set", "keyring:clavis-bench/app-secret"], input=value, check=True, capture_output=True)
c, s = interleaved([([clavis, "secret", "get", "keyring:clavis-bench/app-secret"], None),
                    (["secret-tool", "lookup", "service", "clavis-bench", "username", "app-secret"], None)], runs)
rows.append(("keyring read (median per process)", c, s, "ms", "secret-tool lookup"))
try:
    _, k = timed([sys.executable, "-m", "keyring", "get", "clavis-bench", "app-secret"], max(2, runs // 10))
    rows.append(("keyring read (median per process)", c, k, "ms", "python3 -m keyring get"))
except subprocess.CalledProcessError:
    pass
subprocess.run([clavis, "secret", "delete", "keyring:clavis-bench/app-secret"], capture_output=True)

# 3. age: decrypt a large file, and scrypt at the same work factor.
mib = 4 if quick else 64
key = os.path.join(work, "key.txt")
subprocess.run(["age-keygen", "-o", key], check=True, capture_output=True)
recipient = subprocess.run(["age-keygen", "-y", key], check=True, capture_output=True, text=True).stdout.strip()
plain = os.path.join(work, "plain")
with open(plain, "wb") as handle:
    handle.write(os.urandom(mib * 1024 * 1024))
sealed = os.path.join(work, "file.age")
subprocess.run(["age", "-r", recipient, "-o", sealed, plain], check=True)
_, c = timed([clavis, "age", "decrypt", "-i", key, sealed], 3 if quick else 5)
_, a = timed(["age", "-d", "-i", key, sealed], 3 if quick else 5)
rows.append((f"age decrypt {mib} MiB (median)", c, a, "ms", "age -d"))
factor = 12 if quick else 18
pw = os.path.join(work, "pw")
with open(pw, "w") as handle:
    handle.write("bench-passphrase\n")
os.chmod(pw, 0o600)
small = os.path.join(work, "small.age")
with open(os.path.join(work, "x"), "w") as handle:
    handle.write("x")
subprocess.run([clavis, "age", "encrypt", "--passphrase-file", pw, "--work-factor", str(factor), "-o", small, os.path.join(work, "x")], check=True)
script = f"import pyrage; pyrage.passphrase.decrypt(open({small!r},'rb').read(), 'bench-passphrase')"
# In turn, 15 rounds: one run took 706 to 998 ms on the same idle VM (a 256 MiB scrypt each).
c, p = interleaved([([clavis, "age", "decrypt", "--passphrase-file", pw, small], None), ([sys.executable, "-c", script], None)],
                   3 if quick else 15)
rows.append((f"scrypt 2^{factor} unlock (median per process)", c, p, "ms", "pyrage"))

# 4. CLI cold start: whole processes, medians (issue goals: ≤ 1.5× `age --version`).
starts = 10 if quick else 200
env_x = dict(os.environ, CLAVIS_BENCH_X="value")
c, e, a = interleaved([([clavis, "--version"], None), ([clavis, "secret", "get", "env:CLAVIS_BENCH_X"], env_x),
                       (["age", "--version"], None)], starts)
rows.append(("CLI cold start (--version, median)", c, a, "ms", "age --version"))
rows.append(("secret get env:X (median per process)", e, a, "ms", "age --version"))


def peak_rss_kib(argv, env=None):
    """Peak resident memory of one run of argv, in KiB (wait4's rusage of that child alone)."""
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execvpe(argv[0], argv, env or os.environ)
    _, _, usage = os.wait4(pid, 0)
    return usage.ru_maxrss


c = statistics.median(peak_rss_kib([clavis, "secret", "get", "env:CLAVIS_BENCH_X"], env_x) for _ in range(5))
a = statistics.median(peak_rss_kib(["age", "--version"]) for _ in range(5))
rows.append(("peak memory, secret get env:X", c / 1024, a / 1024, "MiB", "age --version"))

# 5. Secret scanning beside detect-secrets: quality on the labelled corpus, time on one tree.
out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "scan-compare.py"), "--scanner", clavis, "scan", "--json"]
                     + (["--quick"] if quick else []), capture_output=True, text=True, check=True).stdout
for line in out.splitlines():
    item = json.loads(line)
    rows.append((item["row"], item["clavis"], item.get("peer"), item["unit"], item["peer_name"]))

# 6. clavis-broker (issue 18): cache hit round trip, cold processes → token requests, memory with 10 identities.
out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "broker.py"), "--bin", os.path.dirname(os.path.abspath(clavis))]
                     + (["--quick"] if quick else []), capture_output=True, text=True, check=True).stdout
for line in out.splitlines():
    item = json.loads(line)
    rows.append((item["row"], item["clavis"], item.get("peer"), item["unit"], item["peer_name"]))

elapsed = time.time() - started
print(f"Clavis beside its peers — {'QUICK (debug build, tiny sizes)' if quick else 'release build'}; "
      f"{platform.node()} {os.cpu_count()} cores, {platform.machine()}; {elapsed:.0f} s")
print(f"{'row':48} {'clavis':>12} {'peer':>12} {'unit':>12} {'ratio':>8}  peer")
for row, c, p, unit, name in rows:
    ratio = f"{c / p:8.3f}" if p else "     n/a"
    peer = f"{p:12.2f}" if p is not None else f"{'':>12}"
    print(f"{row:48} {c:12.2f} {peer} {unit:>12} {ratio}  {name}")
print("ratio = clavis / peer (below 1: Clavis is faster; for 'requests', fewer is better; precision, recall, F1: higher is better)")
