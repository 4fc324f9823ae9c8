#!/usr/bin/env python3
"""What each codec's decoder detects of a corrupted file, and how much bad data it yields first.

A synthetic JSONL text (30,000 records, ~8.6 MB) is compressed as gzip, zstd without a checksum and
zstd with one (``write_checksum``); each trial corrupts bytes at one random place (``--bytes`` bytes
XORed with random values, or with ``--bits`` one random bit each) and decodes it with thresher's
codecs (``thresher.io.codecs.BLOCKS``). Per codec: faults detected, corruptions decoded silently
(wrong output, no error), and for detected faults the bad bytes yielded before the error.

Usage: python benchmarks/corruption.py [--trials 40] [--bytes 40] [--bits] [--seed 1]
"""
from __future__ import annotations

import argparse
import gzip
import io
import random

import zstandard

from thresher.io.codecs import BLOCKS, Truncated

WORDS = "river stone paper light orbit garden copper window signal harbor quiet thunder".split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--bytes", type=int, default=40, help="bytes corrupted at one place")
    ap.add_argument("--bits", action="store_true", help="flip one bit per byte instead of random XOR")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    data = b"".join(b'{"id":"d%d","text":"%s"}\n' % (i, " ".join(rng.choice(WORDS) for _ in range(40)).encode())
                    for i in range(30000))
    codecs = {"gz": lambda d: gzip.compress(d), "zst": lambda d: zstandard.ZstdCompressor().compress(d),
              "zst+checksum": lambda d: zstandard.ZstdCompressor(write_checksum=True).compress(d)}
    for name, compress in codecs.items():
        detected, silent, before = 0, 0, []
        for _ in range(args.trials):
            c = bytearray(compress(data))
            pos = rng.randrange(100, len(c) - 100 - args.bytes)
            for i in range(pos, pos + args.bytes):
                c[i] ^= (1 << rng.randrange(8)) if args.bits else rng.randrange(1, 256)
            out, error = [], False
            try:
                for block in BLOCKS["gz" if name == "gz" else "zst"](io.BytesIO(bytes(c))):
                    out.append(block)
            except Truncated:
                error = True
            got = b"".join(out)
            bad = next((i for i in range(min(len(got), len(data))) if got[i] != data[i]), None)
            if bad is None and len(got) != len(data) and not error:
                bad = min(len(got), len(data))
            if error:
                detected += 1
                before.append(len(got) - bad if bad is not None else 0)
            elif bad is not None:
                silent += 1
        before.sort()
        span = f"{before[0] / 1e6:.2f}-{before[-1] / 1e6:.2f} MB" if before else "-"
        print(f"{name}: {args.trials} trials, detected {detected}, silent {silent}; bad data yielded "
              f"before the error: {span}")


if __name__ == "__main__":
    main()
