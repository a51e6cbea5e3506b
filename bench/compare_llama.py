#!/usr/bin/env python3
"""schwarm vs llama.cpp on the CPU, on the same synthetic GGUF files (python3 standard library only).

    bench/compare_llama.py                 the full comparison; rewrites the table in docs/PERFORMANCE.md
    bench/compare_llama.py --smoke         a tiny end-to-end check (tiny files, -p 16 -n 4 -r 1); writes
                                           its table under .cache/compare-llama-smoke/, not into docs/

What it does, each step skipped when its output already exists (so an interrupted run resumes):
 1. builds llama.cpp's llama-bench from the source that `scripts/fetch-test-data.sh --source` unpacks
    (.cache/llama-cpp-python/llama.cpp, from the llama-cpp-python source package) into
    .cache/llama-cpp-bench-build: CPU only, Release, GGML_NATIVE=ON with AMX compiled out
    (-mno-amx-tile -mno-amx-int8 -mno-amx-bf16: its AMX path segfaults on quantized MoE files);
 2. synthesizes each case's file with build/bin/schwarm-synth-gguf into .cache/bench-models/;
 3. runs, alternating within each round (the order rotates from round to round), for every case
        llama-bench -m F -p P -n N -t T -r R --repack 0 -o json
        llama-bench -m F -p P -n N -t T -r R --repack 1 -o json
        build/bin/schwarm bench -m F -p P -n N -t T -r R --json
    and appends every result to a JSON results file after each run (--results; a rerun with the same
    file skips the runs it already holds);
 4. takes for each figure (pp P, tg N) the median of all samples_ts, the better of llama.cpp's two
    repack settings (repacking usually wins decode), and prints the ratio schwarm / llama.cpp;
 5. rewrites the part of the doc between the compare_llama markers: the table, the machine
    (lscpu model name, cores, memory, load), both programs' versions and the exact commands.

`schwarm bench` must print llama-bench's JSON fields (model_filename, n_prompt, n_gen, n_threads,
avg_ts, stddev_ts, samples_ts). When the binary has no `bench` subcommand the schwarm runs are
skipped and the table says so.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- compare_llama:begin (bench/compare_llama.py rewrites this part) -->"
END = "<!-- compare_llama:end -->"
AMX_OFF = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"

# (preset file, layers, type). Layers: what fits this machine's RAM with room for the page cache.
FULL_CASES = [
    ("models/presets/qwen3-30b-a3b.json", 8, "q4_k_m"),
    ("models/presets/qwen3-30b-a3b.json", 8, "q8_0"),
    ("models/presets/deepseek-v2-lite.json", 8, "q4_k_m"),
    ("models/presets/deepseek-v2-lite.json", 8, "q8_0"),
]
SMOKE_CASES = [
    ("bench/presets/tiny-qwen3moe.json", 1, "q4_k_m"),
    ("bench/presets/tiny-deepseek2.json", 2, "q8_0"),  # 2: a dense layer and a MoE layer
]


def rel(path):
    return os.path.relpath(path, ROOT)


def log(msg):
    print(f"[compare_llama] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, capture=False, timeout=None):
    log("$ " + " ".join(shlex.quote(c) for c in cmd))
    return subprocess.run(cmd, cwd=ROOT, check=check, text=True, timeout=timeout,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)


def machine():
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], text=True, capture_output=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "Socket(s)", "Flags"):
                info[key.strip()] = value.strip()
        flags = info.pop("Flags", "").split()
        info["simd"] = " ".join(f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c"))
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def git_rev():
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, text=True,
                           capture_output=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def build_llama_bench(args):
    src = os.path.join(ROOT, ".cache/llama-cpp-python/llama.cpp")
    bdir = os.path.join(ROOT, ".cache/llama-cpp-bench-build")
    exe = os.path.join(bdir, "bin", "llama-bench")
    flags = [f"-DCMAKE_C_FLAGS={AMX_OFF}", f"-DCMAKE_CXX_FLAGS={AMX_OFF}", "-DCMAKE_BUILD_TYPE=Release",
             "-DGGML_NATIVE=ON", "-DGGML_CUDA=OFF", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
             "-DLLAMA_BUILD_SERVER=OFF", "-DBUILD_SHARED_LIBS=OFF"]
    stamp = os.path.join(bdir, "schwarm-bench-flags.txt")
    if os.path.exists(exe) and os.path.exists(stamp) and open(stamp).read() == "\n".join(flags):
        return exe, flags
    if not os.path.exists(os.path.join(src, ".complete")):
        run([os.path.join(ROOT, "scripts/fetch-test-data.sh"), "--source"])
    run(["cmake", "-S", src, "-B", bdir] + flags, capture=True)
    run(["cmake", "--build", bdir, "--target", "llama-bench", f"-j{args.jobs}"])
    with open(stamp, "w") as f:
        f.write("\n".join(flags))
    return exe, flags


def schwarm_has_bench(schwarm):
    if not os.path.exists(schwarm):
        return False
    r = subprocess.run([schwarm, "bench", "--help"], cwd=ROOT, text=True, capture_output=True)
    return r.returncode == 0


def model_path(preset, layers, typ):
    name = os.path.splitext(os.path.basename(preset))[0]
    return os.path.join(ROOT, ".cache/bench-models", f"{name}-{layers}L-{typ}.gguf")


def synthesize(args, preset, layers, typ):
    path = model_path(preset, layers, typ)
    cmd = [args.synth, "--preset", os.path.join(ROOT, preset), "--layers", str(layers), "--type", typ,
           "--seed", "1", "-o", path]
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        run(cmd)
    return path, cmd


def parse_results(stdout):
    """llama-bench -o json prints one JSON array; accept an object with 'results' or JSON lines too."""
    text = stdout.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    if isinstance(data, dict):
        data = data.get("results", [data])
    # Both programs print the model's absolute path: keep the committed results free of this
    # machine's paths (relative to the repository, as the commands are).
    for r in data:
        if isinstance(r, dict) and isinstance(r.get("model_filename"), str) and os.path.isabs(r["model_filename"]):
            r["model_filename"] = rel(r["model_filename"])
    return data


def figure_of(r):
    if r.get("n_gen", 0) == 0:
        return f"pp{r['n_prompt']}"
    if r.get("n_prompt", 0) == 0:
        return f"tg{r['n_gen']}"
    return f"pp{r['n_prompt']}+tg{r['n_gen']}"


def load_results(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"runs": []}


def save_results(path, results):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, path)


def median_ts(runs, case, runner, fig):
    samples = [s for r in runs if r["case"] == case and r["runner"] == runner
               for x in r["results"] if figure_of(x) == fig for s in (x.get("samples_ts") or [x["avg_ts"]])]
    return statistics.median(samples) if samples else None


def fmt(x):
    return "—" if x is None else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")


def table(results, cases, figs, schwarm_ran):
    runs = results["runs"]
    head = ["preset", "layers", "type", "GiB"]
    for fig in figs:
        head += [f"llama.cpp {fig} (t/s)", f"schwarm {fig} (t/s)", f"{fig} ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < 3 else "---:" for i in range(len(head))) + "|"]
    for c in cases:
        row = [c["preset_name"], str(c["layers"]), c["type"], f"{c['gib']:.2f}"]
        for fig in figs:
            rp = {k: median_ts(runs, c["id"], f"llama-rp{k}", fig) for k in (0, 1)}
            best_k = max((k for k in rp if rp[k] is not None), key=lambda k: rp[k], default=None)
            best = rp[best_k] if best_k is not None else None
            ours = median_ts(runs, c["id"], "schwarm", fig)
            ratio = f"{ours / best:.2f}x" if ours and best else "—"
            row += [f"{fmt(best)} (repack {best_k}; other {fmt(rp[1 - best_k])})" if best_k is not None else "—",
                    fmt(ours) if schwarm_ran else "not run", ratio]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def write_doc(doc, section):
    text = open(doc).read() if os.path.exists(doc) else "# Performance\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## MoE models on the CPU: schwarm vs llama.cpp\n\n" + block + "\n"
    os.makedirs(os.path.dirname(doc), exist_ok=True)
    with open(doc, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny files, -p 16 -n 4 -r 1, one round")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=None, help="-r per run (default 3; smoke 1)")
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3; smoke 1)")
    ap.add_argument("-p", "--n-prompt", type=int, default=None, help="default 512 (smoke 16)")
    ap.add_argument("-n", "--n-gen", type=int, default=None, help="default 128 (smoke 4)")
    ap.add_argument("--case", action="append", default=None, metavar="PRESET:LAYERS:TYPE",
                    help="a case to run instead of the defaults, e.g. models/presets/qwen3-30b-a3b.json:4:q8_0")
    ap.add_argument("--build", default="build", help="schwarm's build directory (bin/schwarm, bin/schwarm-synth-gguf)")
    ap.add_argument("--results", default=None, help="the results JSON (default bench/results/compare-llama-DATE.json)")
    ap.add_argument("--doc", default=None, help="the doc whose table to rewrite (default docs/PERFORMANCE.md)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel jobs for building llama-bench")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per benchmark run")
    args = ap.parse_args()

    smoke = args.smoke
    reps = args.reps or (1 if smoke else 3)
    rounds = args.rounds or (1 if smoke else 3)
    n_prompt = args.n_prompt or (16 if smoke else 512)
    n_gen = args.n_gen or (4 if smoke else 128)
    today = datetime.date.today().isoformat()
    out_dir = os.path.join(ROOT, ".cache/compare-llama-smoke") if smoke else os.path.join(ROOT, "bench/results")
    results_path = os.path.abspath(args.results or os.path.join(out_dir, f"compare-llama-{today}.json"))
    doc = os.path.abspath(args.doc or (os.path.join(out_dir, "PERFORMANCE.md") if smoke
                                       else os.path.join(ROOT, "docs/PERFORMANCE.md")))
    args.synth = os.path.join(ROOT, args.build, "bin", "schwarm-synth-gguf")
    schwarm = os.path.join(ROOT, args.build, "bin", "schwarm")
    if not os.path.exists(args.synth):
        sys.exit(f"compare_llama: {rel(args.synth)} not found; build it: cmake --build {args.build} --target schwarm_synth_gguf")

    specs = SMOKE_CASES if smoke else FULL_CASES
    if args.case:
        specs = []
        for c in args.case:
            preset, layers, typ = c.rsplit(":", 2)
            specs.append((preset, int(layers), typ))

    llama_bench, llama_flags = build_llama_bench(args)
    has_bench = schwarm_has_bench(schwarm)
    why = "is not built" if not os.path.exists(schwarm) else "has no `bench` subcommand yet"
    if not has_bench:
        log(f"{rel(schwarm)} {why}: the schwarm runs are skipped")

    results = load_results(results_path)
    results.setdefault("started", datetime.datetime.now().isoformat(timespec="seconds"))
    results["machine"] = machine()
    results["schwarm_git"] = git_rev()
    results["llama_cpp_build"] = {"cmake_flags": llama_flags, "source": ".cache/llama-cpp-python/llama.cpp"}
    results["command"] = "bench/compare_llama.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    results["settings"] = {"threads": args.threads, "reps": reps, "rounds": rounds, "n_prompt": n_prompt, "n_gen": n_gen}
    loads = [loadavg()]

    cases = []
    for preset, layers, typ in specs:
        path, synth_cmd = synthesize(args, preset, layers, typ)
        with open(os.path.join(ROOT, preset)) as f:
            name = json.load(f).get("name", preset)
        cases.append({"id": f"{rel(path)}", "preset": preset, "preset_name": name, "layers": layers, "type": typ,
                      "path": path, "gib": os.path.getsize(path) / 2**30,
                      "synth_command": " ".join(shlex.quote(rel(c) if c.startswith(ROOT) else c) for c in synth_cmd)})
    results["cases"] = [{k: v for k, v in c.items() if k != "path"} for c in cases]

    common = ["-p", str(n_prompt), "-n", str(n_gen), "-t", str(args.threads), "-r", str(reps)]
    runners = [("llama-rp0", lambda f: [llama_bench, "-m", f] + common + ["--repack", "0", "-o", "json"]),
               ("llama-rp1", lambda f: [llama_bench, "-m", f] + common + ["--repack", "1", "-o", "json"])]
    if has_bench:
        runners.append(("schwarm", lambda f: [schwarm, "bench", "-m", f] + common + ["--json"]))
    done = {(r["case"], r["runner"], r["round"]) for r in results["runs"]}
    for rnd in range(rounds):
        order = runners[rnd % len(runners):] + runners[:rnd % len(runners)]
        for c in cases:
            for runner, make in order:
                if (c["id"], runner, rnd) in done:
                    continue
                cmd = make(c["path"])
                t0 = time.time()
                p = run(cmd, check=False, capture=True, timeout=args.timeout)
                if p.returncode != 0:
                    log(f"{runner} failed with exit code {p.returncode}:\n{p.stderr[-3000:]}")
                    sys.exit(1)
                results["runs"].append({"case": c["id"], "runner": runner, "round": rnd,
                                        "command": " ".join(shlex.quote(rel(x) if x.startswith(ROOT) else x) for x in cmd),
                                        "seconds": round(time.time() - t0, 1), "load_before": loadavg(),
                                        "results": parse_results(p.stdout)})
                save_results(results_path, results)
    loads.append(loadavg())
    results["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    save_results(results_path, results)

    llama_build = next((x.get("build_commit") for r in results["runs"] if r["runner"].startswith("llama")
                        for x in r["results"] if x.get("build_commit") not in (None, "", "unknown")), None)
    if llama_build is None:  # built from the source package, which carries no git commit
        sdists = [f for f in os.listdir(os.path.join(ROOT, ".cache/llama-cpp-python")) if f.endswith(".tar.gz")]
        llama_build = "vendored by " + (sdists[0][:-len(".tar.gz")] if sdists else "llama-cpp-python")
    figs = [f"pp{n_prompt}", f"tg{n_gen}"]
    m = results["machine"]
    section = "\n".join([
        f"Measured {results['finished'][:10]}{' (SMOKE RUN: tiny files, not a measurement)' if smoke else ''}: "
        f"`{results['command']}` (schwarm {results['schwarm_git']}, llama.cpp {llama_build}).",
        "",
        f"Machine: {m.get('Model name', '?')}, {m.get('CPU(s)', m.get('cpus'))} CPUs "
        f"({m.get('Thread(s) per core', '?')} thread(s) per core), {m.get('memory_gib', '?')} GiB RAM, "
        f"SIMD: {m.get('simd', '?')}; load average {fmt(loads[0]) if loads[0] is not None else '?'} before, "
        f"{fmt(loads[-1]) if loads[-1] is not None else '?'} after.",
        "",
        f"Each figure is the median tokens/s over {rounds} alternating round(s) of {reps} repetition(s), "
        f"{args.threads} threads, both programs on the same file. llama.cpp: llama-bench built with "
        f"GGML_NATIVE=ON and AMX compiled out ({AMX_OFF}), the better of `--repack 0` and `--repack 1` "
        "(the other in brackets). Ratio = schwarm / llama.cpp (above 1: schwarm is faster)."
        + ("" if has_bench else f" **schwarm was not run: `{rel(schwarm)}` {why}.**"),
        "",
        table(results, cases, figs, has_bench),
        "",
        "Files (random weights in the real shapes, `tools/synth-gguf`):",
        "",
    ] + [f"- `{c['synth_command']}`" for c in cases] + [
        "",
        "Commands of one round (all rounds: the results file):",
        "",
    ] + [f"- `{r['command']}`" for r in results["runs"] if r["round"] == 0] + [
        "",
        f"Raw figures: `{rel(results_path)}`.",
    ])
    write_doc(doc, section)
    print(table(results, cases, figs, has_bench))
    log(f"wrote {rel(doc)} and {rel(results_path)}")


if __name__ == "__main__":
    main()
