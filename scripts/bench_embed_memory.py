"""Peak memory of ``embed_file`` as the corpus grows 10x, and its speed with 1 vs 2 processes.

``TextMetric.embed_file`` (``textmetric embed``) streams: it reads, embeds and writes one row
group at a time, so its peak memory should not grow with the corpus. This script checks that:

1. builds a tiny-ja model offline (``scripts/bench_api.py``'s ``build_model``, a ``mini`` shape:
   64 hidden, 2 layers, so that the model's own memory does not hide the pipeline's);
2. synthesises ``--docs`` N and 10N Japanese documents (JSTS sentences joined in pairs, every
   50th a JSQuAD paragraph long enough to be chunked), written to temporary JSON Lines files;
3. embeds each in a fresh process and reads that process's peak resident memory
   (``getrusage(RUSAGE_SELF).ru_maxrss``), and the memory right after loading the model;
4. prints the ratio of the peaks, big / small, and PASS when it is at most ``--max-ratio`` (1.2);
5. embeds the 10N corpus again with 2 processes (torchrun, gloo, ``cores / 2`` threads each,
   one shard each) and prints docs/s for 1 vs 2 processes (time inside ``embed_file``, model
   loading excluded) and the largest difference between the two outputs' vectors.

What grows is the fast tokenizer's caches, both bounded: the word split of the last 65,536
texts (LRU) and the WordPiece ids of up to 262,144 distinct words (cleared when full). Until
they are full the 10N run holds a little more than the N run (about 1 MB per 1,000 documents
of this corpus); beyond that, peak memory is flat.

Speed depends on the machine being otherwise idle: on a busy one, torch's threads of a single
process wait for each other (compare ``--threads 1``); the load average is printed.

Run: ``.venv/bin/python scripts/bench_embed_memory.py`` (2,000 and 20,000 documents: about
2 minutes on an idle 2-core machine). ``--docs 500`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_api

MINI = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "intermediate_size": 256}
LONG_EVERY = 50
REPO = Path(__file__).resolve().parents[1]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def rss_bytes() -> int:
    """Resident memory now (Linux /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


# ------------------------------------------------------------------------------------ corpus


def paragraphs() -> list[str]:
    with (bench_api.SHARED / "jsquad" / "valid.json").open(encoding="utf-8") as handle:
        data = json.load(handle)["data"]
    return [p["context"] for article in data for p in article["paragraphs"]]


def write_corpus(path: Path, n: int, sentences: list[str], long_texts: list[str]) -> Path:
    """``n`` distinct documents: sentence pairs (``i``, a stride away), every 50th a paragraph."""
    with path.open("w", encoding="utf-8") as handle:
        for number in range(n):
            if number % LONG_EVERY == LONG_EVERY - 1:
                text = long_texts[(number // LONG_EVERY) % len(long_texts)]
            else:
                a = sentences[number % len(sentences)]
                b = sentences[(number * 7919 + number // len(sentences) + 1) % len(sentences)]
                text = a + b
            handle.write(json.dumps({"id": f"doc-{number}", "text": text}, ensure_ascii=False) + "\n")
    return path


# ------------------------------------------------------------------------------------ runs


def child(opts: argparse.Namespace) -> None:
    """One embedding run in this process (or in each torchrun worker); writes its figures as JSON."""
    import torch

    from textmetric.api import TextMetric
    from textmetric.training import distributed

    with distributed.process_group(cpu=True):
        tm = TextMetric.load(opts.model, device="cpu")
        loaded = rss_bytes()
        started = time.perf_counter()
        result = tm.embed_file(opts.corpus, opts.out, rows_per_group=opts.rows_per_group, overwrite=True)
        seconds = time.perf_counter() - started
        figures = {
            "rank": distributed.rank(),
            "rows": result.rows,
            "seconds": seconds,
            "loaded_rss": loaded,
            "peak_rss": peak_rss_bytes(),
            "threads": torch.get_num_threads(),
        }
    Path(f"{opts.report}.{figures['rank']}").write_text(json.dumps(figures), encoding="utf-8")


def run(model: Path, corpus: Path, out: Path, opts: argparse.Namespace, processes: int) -> list[dict]:
    """Embed ``corpus`` in fresh process(es); the figures of each process."""
    report = out.with_suffix(".report")
    args = [
        __file__,
        "--child",
        "--model",
        str(model),
        "--corpus",
        str(corpus),
        "--out",
        str(out),
        "--report",
        str(report),
        "--rows-per-group",
        str(opts.rows_per_group),
    ]
    if processes > 1:
        args = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes), *args]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(max(1, (opts.threads or cores()) // processes)),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"embedding run failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return [json.loads(Path(f"{report}.{rank}").read_text(encoding="utf-8")) for rank in range(processes)]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000, help="Small corpus; the big one is 10x.")
    parser.add_argument("--rows-per-group", type=int, default=1000, help="Rows embedded at a time.")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="Torch threads of one process [default: all cores]; each of 2 processes gets half.",
    )
    parser.add_argument("--max-ratio", type=float, default=1.2, help="PASS when big / small peak <= this.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        child(opts)
        return {}

    bench_api.MODEL_SHAPES.setdefault("mini", MINI)
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        work = Path(tmp)
        sentences = bench_api.load_texts(100_000)
        print(f"building the tiny-ja 'mini' model ({len(sentences):,} JSTS sentences) ...", flush=True)
        model = bench_api.build_model("mini", sentences, work, max_seq_length=128)
        long_texts = paragraphs()
        small = write_corpus(work / "small.jsonl", opts.docs, sentences, long_texts)
        big = write_corpus(work / "big.jsonl", 10 * opts.docs, sentences, long_texts)

        results: dict[str, list[dict]] = {}
        for name, corpus, processes in (("N", small, 1), ("10N", big, 1), ("10N, 2 processes", big, 2)):
            print(f"embedding {name} ...", flush=True)
            out = work / (name.replace(", ", "-").replace(" ", "") + (".parquet" if processes == 1 else ""))
            results[name] = run(model, corpus, out, opts, processes)

        from textmetric.api import read_embeddings

        ids_one, one = read_embeddings(work / "10N.parquet")
        ids_two, two = read_embeddings(work / "10N-2processes")
        same_ids = ids_one == ids_two
        max_diff = float(abs(one - two).max())

    header = ("docs", 8), ("threads", 9), ("seconds", 9), ("docs/s", 9), ("model loaded", 14), ("peak", 10)
    print("\n" + f"{'run':<20}" + "".join(f"{title:>{width}}" for title, width in header))
    for name, figures in results.items():
        rows = figures[0]["rows"]  # every process reports the whole output's rows
        seconds = max(f["seconds"] for f in figures)
        for f in figures:
            label = name if len(figures) == 1 else f"{name} #{f['rank']}"
            print(
                f"{label:<20}{rows:>8,}{f['threads']:>9}{seconds:>9.1f}{rows / seconds:>9,.0f}"
                f"{mb(f['loaded_rss']):>14}{mb(f['peak_rss']):>10}"
            )
    small_peak, big_peak = results["N"][0]["peak_rss"], results["10N"][0]["peak_rss"]
    ratio = big_peak / small_peak
    growth = (big_peak - results["10N"][0]["loaded_rss"]) - (small_peak - results["N"][0]["loaded_rss"])
    speed_one = results["10N"][0]["rows"] / results["10N"][0]["seconds"]
    two = results["10N, 2 processes"]
    speed_two = two[0]["rows"] / max(f["seconds"] for f in two)
    verdict = "PASS" if ratio <= opts.max_ratio else "FAIL"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{cores()} cores; load average (1, 5, 15 min) at the end: {load}")
    print(
        f"peak memory, 10N / N: {ratio:.3f} ({mb(big_peak)} / {mb(small_peak)}; "
        f"{mb(growth)} more above the loaded model) -> {verdict} (limit {opts.max_ratio}x)"
    )
    print(f"docs/s, 2 processes / 1: {speed_two:,.0f} / {speed_one:,.0f} = {speed_two / speed_one:.2f}x")
    print(f"2 processes vs 1: same ids in the same order: {same_ids}; largest difference {max_diff:.1e}")
    return {"ratio": ratio, "pass": verdict == "PASS", "speedup": speed_two / speed_one, "max_diff": max_diff}


if __name__ == "__main__":
    summary = main()
    if summary and not summary["pass"]:
        sys.exit(1)
