"""The scanner beside detect-secrets on the same files: quality on the labelled corpus and time on a tree.

    python3 Benchmarks/scan-compare.py --scanner .build/debug/clavis-scan [--quick] [--json]
    python3 Benchmarks/scan-compare.py --scanner .build/release/clavis scan

Quality: Tests/ClavisScanTests/Corpus with its labels stripped (a line ending in `⟦P:code⟧` holds a
secret); a tool finds a labelled line when it reports anything on it, and every report on another
line is a false positive. Per category (the label) recall; overall precision, recall and F1.
Speed: the stripped corpus plus this repository's sources, copied until the tree has the size
asked for, scanned by each tool as a whole process (median of runs).
With --json, prints rows for Benchmarks/run.py, one JSON object a line.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time
from collections import defaultdict

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
corpus = os.path.join(root, "Tests", "ClavisScanTests", "Corpus")
label = re.compile(r"\s⟦P:([a-z]+)⟧")


def strip_corpus(into):
    """Writes the corpus without its labels; returns {file: {line: category}}."""
    labels = {}
    for name in sorted(os.listdir(corpus)):
        out_name = name[:-4] if name.endswith(".txt") else name
        lines, marks = [], {}
        with open(os.path.join(corpus, name), encoding="utf-8") as handle:
            for number, line in enumerate(handle.read().split("\n"), start=1):
                match = label.search(line)
                if match:
                    marks[number] = match.group(1)
                    line = line[:match.start()]
                lines.append(line)
        with open(os.path.join(into, out_name), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
        labels[out_name] = marks
    return labels


def clavis_findings(scanner, directory):
    # Run inside the folder: findings are reported relative to the current directory, as the
    # labels are (run from elsewhere, every path would be absolute and nothing would match).
    program = os.path.abspath(scanner[0]) if os.sep in scanner[0] else scanner[0]
    result = subprocess.run([program] + scanner[1:] + ["--json", "."], cwd=directory, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"scanner failed: {result.stderr}")
    return {(item["path"], item["line"]) for item in json.loads(result.stdout)}


def detect_secrets_findings(directory):
    result = subprocess.run(["detect-secrets", "scan", "--all-files", "."], cwd=directory, capture_output=True, text=True, check=True)
    found = set()
    for path, items in json.loads(result.stdout)["results"].items():
        for item in items:
            found.add((os.path.normpath(path), item["line_number"]))
    return found


def score(found, labels):
    tp, fn, fp = defaultdict(int), defaultdict(int), 0
    for path, marks in labels.items():
        for line, category in marks.items():
            (tp if (path, line) in found else fn)[category] += 1
    fp = sum(1 for path, line in found if line not in labels.get(path, {}))
    t, n = sum(tp.values()), sum(fn.values())
    precision = t / (t + fp) if t + fp else 0.0
    recall = t / (t + n) if t + n else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per = {category: tp[category] / (tp[category] + fn[category]) for category in sorted(set(tp) | set(fn))}
    return {"precision": precision, "recall": recall, "f1": f1, "tp": t, "fp": fp, "fn": n, "recall_by_category": per}


def build_tree(stripped, target_bytes, into):
    size, copy = 0, 0
    while size < target_bytes:
        destination = os.path.join(into, f"copy{copy}")
        shutil.copytree(stripped, os.path.join(destination, "corpus"))
        shutil.copytree(os.path.join(root, "Sources"), os.path.join(destination, "Sources"))
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(into) for f in files)
        copy += 1
    return size


def timed(argv, runs, cwd=None):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scanner", nargs="+", required=True, help="the scanner command, e.g. .build/debug/clavis-scan or clavis scan")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="clavis-scan-compare-")
    try:
        stripped = os.path.join(work, "corpus")
        os.mkdir(stripped)
        labels = strip_corpus(stripped)
        ours = score(clavis_findings(args.scanner, stripped), labels)
        if ours["tp"] == 0:
            # Not a figure but a broken harness (paths not matching the labels, the scanner not
            # running): fail, so CI's quick run catches it instead of recording 0.00.
            sys.exit(f"scan-compare: the scanner found none of the {ours['fn']} labelled secrets; the harness is broken")
        peer = score(detect_secrets_findings(stripped), labels)
        tree = os.path.join(work, "tree")
        os.mkdir(tree)
        size = build_tree(stripped, (1 if args.quick else 8) * 1024 * 1024, tree)
        runs = 3 if args.quick else 5
        ours_ms = timed(args.scanner + [tree], runs)
        peer_ms = timed(["detect-secrets", "scan", "--all-files", "."], 1 if args.quick else 3, cwd=tree)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mb = size / 1e6
    version = subprocess.run(["detect-secrets", "--version"], capture_output=True, text=True).stdout.strip()
    peer_name = f"detect-secrets {version}"
    rows = [
        ("scan: labelled corpus precision", ours["precision"], peer["precision"], "precision", peer_name),
        ("scan: labelled corpus recall", ours["recall"], peer["recall"], "recall", peer_name),
        ("scan: labelled corpus F1", ours["f1"], peer["f1"], "F1", peer_name),
        (f"scan {mb:.1f} MB tree, whole process (median)", ours_ms, peer_ms, "ms", "detect-secrets scan --all-files"),
    ]
    if args.json:
        for row, clavis, other, unit, name in rows:
            print(json.dumps({"row": row, "clavis": clavis, "peer": other, "unit": unit, "peer_name": name}))
        return
    print(f"labelled corpus: {sum(len(m) for m in labels.values())} secrets in {len(labels)} files")
    for name, result in (("clavis", ours), (peer_name, peer)):
        print(f"{name:21} precision {result['precision']:.3f}  recall {result['recall']:.3f}  F1 {result['f1']:.3f}  "
              f"(tp {result['tp']}, fp {result['fp']}, fn {result['fn']})")
    print("recall by category:         " + "  ".join(f"{c}" for c in ours["recall_by_category"]))
    for name, result in (("clavis", ours), (peer_name, peer)):
        print(f"{name:21} " + "  ".join(f"{c}={result['recall_by_category'].get(c, 0):.2f}" for c in ours["recall_by_category"]))
    print(f"tree {mb:.1f} MB: clavis {ours_ms:.0f} ms, detect-secrets {peer_ms:.0f} ms, ratio {ours_ms / peer_ms:.3f} "
          f"({peer_ms / ours_ms:.1f}x faster)")


if __name__ == "__main__":
    main()
