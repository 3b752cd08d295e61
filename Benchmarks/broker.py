"""clavis-broker rows (issue 18), as JSON lines for Benchmarks/run.py:
- a token from the broker's cache: one whole HTTP round trip on loopback (median, keep-alive connection);
- 200 client processes started together against a cold broker → token requests reaching Entra (the emulator),
  beside 200 MSAL Python processes without a broker (each its own ConfidentialClientApplication);
- the broker's resident memory serving 10 identities (VmRSS 3 s after each has served a token), and its
  anonymous part, beside broker-floor: the smallest program on the same stack (Hummingbird,
  AsyncHTTPClient, Foundation) after the same burst and keep-alive hits. Both start with their
  executable out of the page cache, as after installation and a reboot: what a process maps of a
  file the linker has just written depends on how the writes filled the cache (larger folios,
  ~2.5 MiB more for the broker), which is not how a server loads it (docs/performance.md).
Usage: broker.py --bin DIR [--quick]   (DIR holds clavis-emulator, clavis-broker and broker-floor)."""
import argparse, concurrent.futures, http.client, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--bin", required=True)
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()
clients = 20 if args.quick else 200
hits = 200 if args.quick else 5000
work = tempfile.mkdtemp(prefix="clavis-broker-bench-")
os.chmod(work, 0o700)
tenant, app, secret = "5b2c3d4e-0000-4000-8000-0000000be4c0", "6c3d4e5f-1111-4111-8111-0000000be4c1", "bench-app-secret"
defender = "https://api.security.microsoft.com"


def row(name, clavis, peer, unit, peer_name):
    print(json.dumps({"row": name, "clavis": clavis, "peer": peer, "unit": unit, "peer_name": peer_name}), flush=True)


# Memory is read at rest: this long after the load, as an operator's `systemctl status` would show it.
at_rest = 3


def evict(path):
    """Drops `path`'s pages from the page cache (written back first): the next process that maps
    it reads it from disk, as a service started after a reboot does."""
    fd = os.open(os.path.realpath(path), os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def start(argv, env=None, lines=1):
    log = open(os.path.join(work, os.path.basename(argv[0]) + ".log"), "ab")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env=env)
    out = [process.stdout.readline().decode().strip() for _ in range(lines)]
    return process, out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


config = {"tenants": [{"id": tenant, "apps": [{"clientId": app, "secrets": [secret], "permissions": {defender: ["Incident.Read.All"]}}]}]}
with open(os.path.join(work, "emulator.json"), "w") as handle:
    json.dump(config, handle)
ca = os.path.join(work, "ca.pem")
emulator, (base,) = start([os.path.join(args.bin, "clavis-emulator"), "serve", "--config", os.path.join(work, "emulator.json"),
                           "--port", "0", "--tls", "--ca-out", ca])
tls_env = dict(os.environ, REQUESTS_CA_BUNDLE=ca, SSL_CERT_FILE=ca, CLAVIS_CA_FILE=ca)


def stats():
    import ssl
    context = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(base + "/_emulator/stats", context=context) as reply:
        return json.load(reply).get("token", 0)


def reset():
    import ssl
    context = ssl.create_default_context(cafile=ca)
    urllib.request.urlopen(urllib.request.Request(base + "/_emulator/reset", data=b"{}", method="POST"), context=context).read()


with open(os.path.join(work, "app-secret"), "w") as handle:
    handle.write(secret)
os.chmod(os.path.join(work, "app-secret"), 0o600)
port = free_port()
identities = [{"name": f"app{i}", "tenant": tenant, "clientId": app, "secret": f"dir:{work}#app-secret", "resources": [defender],
               "users": [str(os.getuid())]} for i in range(10)]
broker_config = {"listen": f"127.0.0.1:{port}", "socket": os.path.join(work, "broker.sock"), "userDirectory": os.path.join(work, "users", "{uid}"),
                 "authority": base, "identities": identities}
with open(os.path.join(work, "broker.json"), "w") as handle:
    json.dump(broker_config, handle)
broker = floor = None


def burst(argv):
    """Runs `clients` copies of `argv` at once; their stdouts."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda _: subprocess.run(argv, capture_output=True).stdout, range(clients)))


def round_trips(connection, path, headers, count):
    """`count` GETs of `path` on one keep-alive connection, each checked for 200 and a body; their
    times in ms."""
    times = []
    for _ in range(count):
        start_time = time.perf_counter()
        connection.request("GET", path, headers=headers)
        reply = connection.getresponse()
        body = reply.read()
        assert reply.status == 200 and body, (reply.status, body)
        times.append((time.perf_counter() - start_time) * 1000)
    return times


def memory(pid):
    """VmRSS and RssAnon of a process, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]), int(fields["RssAnon"].split()[0])


try:
    reset()
    evict(os.path.join(args.bin, "clavis-broker"))
    broker, (endpoint,) = start([os.path.join(args.bin, "clavis-broker"), "serve", "--config", os.path.join(work, "broker.json")],
                                env=dict(tls_env, CLAVIS_LOG_LEVEL="info"))
    users = os.path.join(work, "users", str(os.getuid()))
    header = open(os.path.join(users, "app0.header")).read().strip()
    header_file = os.path.join(work, "header")
    with open(header_file, "w") as handle:
        handle.write(f"X-IDENTITY-HEADER: {header}\n")
    url = f"{endpoint}?api-version=2019-08-01&resource={defender}"

    # 200 cold client processes at once → token requests.
    codes = burst(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"@{header_file}", url])
    assert all(code == b"200" for code in codes), codes
    broker_requests = stats()

    # The same number of MSAL Python processes, each with its own cache (what a host has without a broker).
    reset()
    script = ("import msal, os\n"
              "app = msal.ConfidentialClientApplication(os.environ['CLIENT_ID'], authority=os.environ['AUTHORITY'],"
              " client_credential=os.environ['CLIENT_SECRET'], instance_discovery=False)\n"
              "assert 'access_token' in app.acquire_token_for_client(scopes=[os.environ['SCOPE']])\n")
    msal_env = dict(tls_env, CLIENT_ID=app, AUTHORITY=f"{base}/{tenant}", CLIENT_SECRET=secret, SCOPE=defender + "/.default")
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda _: subprocess.run([sys.executable, "-c", script], env=msal_env, capture_output=True).returncode, range(clients)))
    assert all(code == 0 for code in results), results
    msal_requests = stats()
    row(f"{clients} cold client processes: token requests to Entra", broker_requests, msal_requests, "requests",
        "MSAL Python, no broker")

    # Cache hit: whole HTTP round trips on one keep-alive loopback connection.
    connection = http.client.HTTPConnection("127.0.0.1", port)
    path = f"/msi/token?api-version=2019-08-01&resource={defender}"
    times = round_trips(connection, path, {"X-IDENTITY-HEADER": header}, hits + 50)[50:]
    row("broker cache hit, HTTP round trip on loopback (median)", statistics.median(times), None, "ms", "")

    # Memory with 10 identities, each having served a token.
    for i in range(10):
        value = open(os.path.join(users, f"app{i}.header")).read().strip()
        connection.request("GET", path, headers={"X-IDENTITY-HEADER": value})
        assert connection.getresponse().read() and True
    time.sleep(at_rest)
    rss, anonymous = memory(broker.pid)

    # The floor: the smallest program on the same stack (Hummingbird, AsyncHTTPClient, Foundation),
    # having served tokens the same way. What the broker holds above it is Clavis's.
    form = f"grant_type=client_credentials&client_id={app}&client_secret={secret}&scope={defender}/.default"
    evict(os.path.join(args.bin, "broker-floor"))
    floor, (floor_url,) = start([os.path.join(args.bin, "broker-floor")],
                                env=dict(tls_env, FLOOR_TOKEN_URL=f"{base}/{tenant}/oauth2/v2.0/token", FLOOR_CA=ca, FLOOR_FORM=form))
    # The broker's load, as far as the floor can take it: the cold burst, the keep-alive hits, then
    # 10 more requests (the floor has one identity and no single flight; its extra token requests
    # reach only the emulator).
    assert all(len(body) > 20 for body in burst(["curl", "-s", floor_url]))
    floor_connection = http.client.HTTPConnection("127.0.0.1", int(floor_url.split(":")[2].split("/")[0]))
    round_trips(floor_connection, "/token", {}, hits + 60)
    floor_connection.close()
    time.sleep(at_rest)
    floor_rss, floor_anonymous = memory(floor.pid)
    row("broker resident memory, 10 identities", rss / 1024, floor_rss / 1024, "MiB", "broker-floor (the stack alone)")
    row("broker anonymous memory, 10 identities", anonymous / 1024, floor_anonymous / 1024, "MiB", "broker-floor (the stack alone)")
finally:
    for process in (floor, broker, emulator):
        if process:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    shutil.rmtree(work, ignore_errors=True)
