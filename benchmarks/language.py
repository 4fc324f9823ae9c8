#!/usr/bin/env python3
"""Language identification: py3langid vs lingua, on real translated text with known languages.

The test set is the human translations shipped in Django's source distribution (every
``django/**/locale/<lang>/LC_MESSAGES/django.po``): the translated strings of one language are joined
into samples of about ``--chars`` characters, labelled with the locale's language. Placeholders
(``%(name)s``, ``{0}``) are stripped. Only languages both models support are scored.

Usage: python benchmarks/language.py [--sdist Django-5.1.3.tar.gz] [--chars 200] [--max-per-lang 40]
Writes benchmarks/results/language.json.

``--sweep``: instead, the ``language`` step's ``max_chars`` trade-off: samples of 2,500 characters (6
per locale, every locale), classified from their first 500 / 1,000 / 2,000 characters; accuracy against
the locale's language and documents per second. Writes benchmarks/results/language_sweep.json.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _measure import save_results  # benchmarks/ is sys.path[0] when run as a script

HERE = Path(__file__).resolve().parent

_MSG = re.compile(r'^msgstr(?:\[\d\])? "(.*)"$|^"(.*)"$')
_PLACEHOLDER = re.compile(r"%\([^)]*\)[sd]|%[sd]|\{[^}]*\}|<[^>]+>|\\n|\\\"")


def po_strings(text: str) -> list[str]:
    out, cur, in_str = [], [], False
    for line in text.splitlines():
        if line.startswith("msgstr"):
            if cur:
                out.append("".join(cur))
            cur, in_str = [], True
            m = _MSG.match(line)
            if m and m.group(1):
                cur.append(m.group(1))
        elif in_str and line.startswith('"'):
            cur.append(line[1:-1])
        else:
            if cur:
                out.append("".join(cur))
            cur, in_str = [], False
    if cur:
        out.append("".join(cur))
    return [re.sub(r"\s+", " ", _PLACEHOLDER.sub(" ", s)).strip() for s in out if s.strip()]


def samples(sdist: Path, chars: int, max_per_lang: int) -> dict[str, list[str]]:
    per_lang: dict[str, list[str]] = defaultdict(list)
    with tarfile.open(sdist) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            parts = m.name.split("/")
            if not m.name.endswith("LC_MESSAGES/django.po") or "locale" not in parts:
                continue
            lang = parts[parts.index("locale") + 1].split("_")[0].lower()
            per_lang[lang].extend(po_strings(tar.extractfile(m).read().decode("utf-8", "replace")))
    out = {}
    for lang, strings in per_lang.items():
        docs, cur = [], ""
        for s in strings:
            cur = f"{cur} {s}".strip()
            if len(cur) >= chars:
                docs.append(cur)
                cur = ""
            if len(docs) >= max_per_lang:
                break
        if docs:
            out[lang] = docs
    return out


def fetch(version: str) -> Path:
    d = Path(tempfile.gettempdir()) / "thresher-bench-django"
    d.mkdir(exist_ok=True)
    hits = list(d.glob(f"[Dd]jango-{version}.tar.gz"))
    if not hits:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:", "-q",
                        "-d", str(d), f"django=={version}"], check=True)
        hits = list(d.glob(f"[Dd]jango-{version}.tar.gz"))
    return hits[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdist", type=Path)
    ap.add_argument("--chars", type=int, default=200)
    ap.add_argument("--max-per-lang", type=int, default=40)
    ap.add_argument("--sweep", action="store_true", help="measure the max_chars trade-off instead")
    args = ap.parse_args()
    sdist = args.sdist or fetch("5.1.3")
    if args.sweep:
        return sweep(sdist)
    data = samples(sdist, args.chars, args.max_per_lang)

    from lingua import IsoCode639_1, LanguageDetectorBuilder
    import py3langid
    from thresher.steps.language import LanguageId

    lingua_codes = {}
    for code in IsoCode639_1.__members__.values() if hasattr(IsoCode639_1, "__members__") else []:
        lingua_codes[code.name.lower()] = code
    if not lingua_codes:
        for name in dir(IsoCode639_1):
            if name.isupper() and len(name) == 2:
                lingua_codes[name.lower()] = getattr(IsoCode639_1, name)
    langid_codes = set(py3langid.langid.LanguageIdentifier.from_model_file(
        py3langid.langid.MODEL_FILE, norm_probs=True).nb_classes)
    common = sorted(set(data) & set(lingua_codes) & langid_codes)
    docs = [(lang, t) for lang in common for t in data[lang]]
    nbytes = sum(len(t.encode()) for _, t in docs)
    print(f"{len(docs)} samples in {len(common)} languages, {nbytes / 1e6:.2f} MB", file=sys.stderr)

    results = {}
    ours = LanguageId()
    ours.identify("warm-up text for the compiled model")
    t0 = time.perf_counter()
    pred = [ours.identify(t)[0] for _, t in docs]
    results["py3langid model, thresher's compiled scorer"] = (time.perf_counter() - t0, pred)
    ident = py3langid.langid.LanguageIdentifier.from_model_file(py3langid.langid.MODEL_FILE, norm_probs=True)
    t0 = time.perf_counter()
    pred = [ident.classify(t)[0] for _, t in docs]
    results["py3langid (its own classify)"] = (time.perf_counter() - t0, pred)

    t0 = time.perf_counter()
    detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = detector.detect_languages_in_parallel_of([t for _, t in docs]) \
        if hasattr(detector, "detect_languages_in_parallel_of") else [detector.detect_language_of(t) for _, t in docs]
    pred = [(o.iso_code_639_1.name.lower() if o is not None else None) for o in out]
    results["lingua (all languages)"] = (time.perf_counter() - t0, pred)
    t0 = time.perf_counter()
    pred = [(o.iso_code_639_1.name.lower() if (o := detector.detect_language_of(t)) is not None else None)
            for _, t in docs]
    results["lingua (one thread)"] = (time.perf_counter() - t0, pred)

    report = {"samples": len(docs), "languages": len(common), "mb": round(nbytes / 1e6, 3),
              "sdist": sdist.name, "chars": args.chars, "lingua_load_seconds": round(load, 2), "tools": {}}
    for name, (secs, pred) in results.items():
        correct = sum(p == lang for p, (lang, _) in zip(pred, docs))
        per_lang = defaultdict(lambda: [0, 0])
        for p, (lang, _) in zip(pred, docs):
            per_lang[lang][0] += p == lang
            per_lang[lang][1] += 1
        macro = sum(a / b for a, b in per_lang.values()) / len(per_lang)
        report["tools"][name] = {"accuracy": round(correct / len(docs), 4), "macro_accuracy": round(macro, 4),
                                 "seconds": round(secs, 3), "mb_per_s": round(nbytes / 1e6 / secs, 3)}
        print(f"{name:32s} acc {correct / len(docs):.4f} macro {macro:.4f} {secs:7.2f} s "
              f"{nbytes / 1e6 / secs:6.2f} MB/s", file=sys.stderr)
    save_results("language", report)


def sweep(sdist: Path) -> None:
    from thresher.steps.language import model

    m = model()
    m.classify("warm-up text for the compiled model")
    data = samples(sdist, 2500, 6)
    docs = [(lang, t) for lang, ts in data.items() for t in ts]
    rows = []
    for n in (500, 1000, 2000):
        t0 = time.perf_counter()
        pred = [m.classify(t[:n])[0] for _, t in docs]
        secs = time.perf_counter() - t0
        rows.append({"max_chars": n, "accuracy": round(sum(p == lang for p, (lang, _) in zip(pred, docs)) / len(docs), 4),
                     "docs_per_s": round(len(docs) / secs)})
        print(rows[-1], file=sys.stderr)
    report = {"samples": len(docs), "locales": len(data), "sdist": sdist.name, "rows": rows}
    save_results("language_sweep", report)


if __name__ == "__main__":
    main()
