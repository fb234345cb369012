#!/usr/bin/env python3
"""Writes seed inputs for the `decoder` fuzz target into corpus/decoder/.

Seeds: every kind of tests/fixtures/adversarial/manifest.ndjson, tests/fixtures/mixed.ndjson,
a few generated lines (`llm-metrics gen`, from the binary given as the first argument), and lines
for the target's every-type datasource, each behind header variants (see
fuzz_targets/decoder.rs). Kinds longer than MAX_SEED bytes are left out: the fuzzer reaches the
long-line paths with its small line limits, and tests/adversarial.rs covers long lines. Run
`cargo fuzz cmin decoder` afterwards to keep the corpus small.

Usage: python3 fuzz/seed_corpus.py target/release/llm-metrics
"""

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "corpus" / "decoder"
MAX_SEED = 16 << 10

ALL_TYPES_LINES = [
    b'{"ts":"2024-01-01 00:00:00.123","meta":{"at":1714557600,"s":"x"},"t":"y",'
    b'"n":{"i8":-128,"i16":300,"i32":-5,"i64":"-9223372036854775808"},"u8":255,'
    b'"u16":"65535","u64":18446744073709551615,"f64":1e308,"b":true}',
    b'{"ts":1714557600.5,"meta":{"at":"2024-05-01T10:00:00Z","s":null},"n":{"i8":128},'
    b'"u64":-1,"f64":"-inf","b":"false"}',
    b'{"ts":null,"meta":[],"n":{"i16":1.5,"i64":9223372036854775808},"b":2}',
]


def seed(name: str, header: bytes, body: bytes) -> None:
    digest = hashlib.sha1(header + body).hexdigest()[:16]
    (OUT / f"{name}-{digest}").write_bytes(header + body)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = ROOT / "tests" / "fixtures" / "adversarial" / "manifest.ndjson"
    for raw in manifest.read_text(encoding="utf-8").split("\n"):
        if not raw.strip():
            continue
        kind = json.loads(raw)
        line = base64.b64decode(kind["b64"]) if "b64" in kind else kind["text"].encode()
        body = line + kind.get("end", "\n").encode()
        if len(body) > MAX_SEED:
            continue
        seed("kind", bytes([0x30, 0, 7, 1]), body)
        seed("kind-limit", bytes([0x31, 8, 3, 0]), body)
    mixed = (ROOT / "tests" / "fixtures" / "mixed.ndjson").read_bytes()
    seed("mixed", bytes([0xF4, 0, 9, 9]), mixed)
    seed("mixed-bytes", bytes([0x0C, 0, 1, 0]), mixed)
    generated = subprocess.run(
        [sys.argv[1], "gen", "--rows", "20", "--seed", "5"], check=True, capture_output=True
    ).stdout
    seed("generated", bytes([0x70, 0, 2, 0]), generated)
    seed("generated-limit", bytes([0x75, 20, 2, 0]), generated)
    for line in ALL_TYPES_LINES:
        seed("all-types", bytes([0x12, 0, 5, 0]), line + b"\n")
        seed("all-types-bytes", bytes([0x0A, 0, 5, 0]), line + b"\r\n" + line)


if __name__ == "__main__":
    main()
