"""Web input (issue #23): WARC/WET archives and HTML files read end to end through the CLI, every
record accounted for (a document, a counted skip or a quarantine row), faults quarantined with their
byte offset, and the same bytes with 1 or 2 workers and after kill -9."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from conftest import ROOT, cli_ok, output_bytes, shared_path

WARCS = shared_path("bench", "web", "warc")


def stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def quarantine(out: Path) -> list[tuple[str, int | None, str]]:
    if not (out / "quarantine").exists():
        return []
    return sorted((os.path.basename(r["file"]), r["byte_offset"], r["kind"])
                  for r in pq.read_table(out / "quarantine").to_pylist())


def run(inputs, out: Path, *extra: str, steps: str = "exact"):
    return cli_ok("run", *map(str, inputs), "-o", str(out), "--steps", steps, "-q", *extra, out=out)


def response(body: bytes, *, rid: str, url: str = "http://example.org/", http: bytes | None = None,
             extra: bytes = b"") -> bytes:
    """One WARC response record (HTTP header ``http``, default 200 text/html)."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" if http is None else http
    block = http + body
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:%s>\r\nWARC-Target-URI: %s\r\n"
            b"WARC-Date: 2024-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n%s"
            b"Content-Length: %d\r\n\r\n" % (rid.encode(), url.encode(), extra, len(block))) + block + b"\r\n\r\n"


def page(words: str) -> bytes:
    return (b"<html><head><title>t</title></head><body><article><p>%s</p></article></body></html>"
            % words.encode())


def test_the_real_archives_account_for_every_record(tmp_path):
    out = tmp_path / "out"
    run([WARCS], out)
    records = sum(1 for f in WARCS.iterdir() for _ in ArchiveIterator(str(f), record_types=WarcRecordType.any_type))
    s = stats(out)["input"]
    assert s["docs"] + sum(s["skipped"].values()) + sum(s["quarantined"].values()) == records
    assert s["docs"] == 82                     # every HTML 200 response, ClueWeb's bare-LF headers too
    assert s["skipped"] == {"metadata": 18, "request": 54, "resource": 4, "warcinfo": 4}
    docs = pq.read_table(out / "documents").to_pylist()
    assert {"url", "warc_date", "content_type", "http_status", "charset", "extractor"} <= set(docs[0])
    clueweb = [d for d in docs if d["source"].endswith("clueweb-quirk.warc.gz")]
    assert len(clueweb) == 29 and {d["charset"] for d in clueweb} == {"euc_jp"}
    assert "吉田カバン" in clueweb[0]["text"]
    assert all(not d["id"].startswith("<") and not d["url"].startswith("<") for d in docs)


def test_faults_in_an_archive_are_quarantined_with_their_offset(tmp_path):
    def archive(tag: str) -> list[bytes]:
        good = [response(page(f"page number {i} of the {tag} archive, with enough words to be a page"),
                         rid=f"g{i}") for i in range(4)]
        broken_http = response(page("a page behind a broken header"), rid="bh",
                               http=b"GARBAGE\r\nnot a header\r\n\r\n")
        pdf = response(b"%PDF-1.4 not html", rid="pdf",
                       http=b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n")
        moved = response(b"", rid="mv", http=b"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n")
        cut = response(page("a page the crawler cut"), rid="cut", extra=b"WARC-Truncated: length\r\n")
        return [good[0], broken_http, pdf, good[1], moved, cut, good[2], good[3]]

    records = archive("plain")
    inp = tmp_path / "in"
    inp.mkdir()
    plain = b"".join(records)
    (inp / "plain.warc").write_bytes(plain[: len(plain) - 40])                  # ends inside good[3]
    members = [gzip.compress(r) for r in archive("gzip")]
    bad = bytearray(members[3])
    bad[len(bad) // 2] ^= 0xFF                                                  # good[1] corrupted
    members[3] = bytes(bad)
    (inp / "members.warc.gz").write_bytes(b"".join(members))
    out = tmp_path / "out"
    run([inp], out)
    offsets = [sum(map(len, records[:i])) for i in range(len(records))]
    gz_offsets = [sum(map(len, members[:i])) for i in range(len(members))]
    assert quarantine(out) == sorted([
        ("members.warc.gz", gz_offsets[1], "malformed_record"), ("members.warc.gz", gz_offsets[3], "malformed_record"),
        ("plain.warc", offsets[1], "malformed_record"), ("plain.warc", offsets[7], "malformed_record")])
    s = stats(out)["input"]
    assert s["skipped"] == {"http_status_301": 2, "non_html": 2, "truncated": 2}
    ids = sorted(pq.read_table(out / "documents", columns=["id"]).column("id").to_pylist())
    assert ids == sorted(["urn:uuid:g0", "urn:uuid:g1", "urn:uuid:g2",            # plain.warc
                          "urn:uuid:g0", "urn:uuid:g2", "urn:uuid:g3"])           # members.warc.gz
    q = {(os.path.basename(r["file"]), r["byte_offset"]): r["error"] for r in pq.read_table(out / "quarantine").to_pylist()}
    assert "HTTP header" in q["plain.warc", offsets[1]] and "cut short" in q["plain.warc", offsets[7]]


def test_html_files_charsets_and_a_page_too_large(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    russian = "Привет, это страница на русском языке, записанная в кодировке windows-1251."
    (inp / "ru.html").write_bytes(
        b'<html><head><meta charset="windows-1251"></head><body><article><p>%s</p></article></body></html>'
        % russian.encode("cp1251"))
    (inp / "zipped.page.html.gz").write_bytes(gzip.compress(page("a compressed page with its own words")))
    (inp / "huge.htm").write_bytes(b"<html><body>" + b"<p>filler words here</p>" * ((50 << 20) // 24) + b"</body></html>")
    out = tmp_path / "out"
    run([inp], out)
    docs = {d["id"]: d for d in pq.read_table(out / "documents").to_pylist()}
    assert set(docs) == {"ru", "zipped.page"}
    assert docs["ru"]["text"] == russian and docs["ru"]["charset"] == "cp1251"
    assert docs["zipped.page"]["text"] == "a compressed page with its own words"
    assert quarantine(out) == [("huge.htm", 0, "too_large")]
    assert "max_html_bytes" in pq.read_table(out / "quarantine").column("error")[0].as_py()


def test_a_warc_charset_header_wins_over_detection(tmp_path):
    text = "Съешь же ещё этих мягких французских булок, да выпей чаю"
    rec = response(b"<html><body><p>%s</p></body></html>" % text.encode("cp1251"), rid="ru",
                   http=b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1251\r\n\r\n")
    (tmp_path / "ru.warc").write_bytes(rec)
    out = tmp_path / "out"
    run([tmp_path / "ru.warc"], out)
    (doc,) = pq.read_table(out / "documents").to_pylist()
    assert doc["text"] == text and doc["charset"] == "cp1251" and doc["url"] == "http://example.org/"


@pytest.mark.slow
def test_big_archive_in_shards_same_bytes_with_workers_and_after_kill(tmp_path):
    """An archive several shards long (cut at records by the driver), the real archives three times
    over: 1 and 2 workers and a run killed with SIGKILL and resumed give the same bytes, with the
    default steps."""
    records = b"".join(gzip.compress(r) for f in sorted(WARCS.iterdir())
                       for r in _raw_records(f)) * 3
    big = tmp_path / "big.warc.gz"
    big.write_bytes(records)
    cfg = tmp_path / "t.toml"
    cfg.write_text("[engine]\nshard_mb = 0.3\n")
    ref = tmp_path / "w1"
    cli_ok("run", str(big), "-o", str(ref), "-c", str(cfg), "-w", "1", "-q", out=ref)
    assert stats(ref)["total"]["shards"] >= 5
    # the copies repeat their record ids: quarantined across shards (the phase ids)
    assert stats(ref)["input"]["docs"] == 82
    assert stats(ref)["input"]["quarantined"] == {"duplicate_id": 2 * 82}
    w2 = tmp_path / "w2"
    cli_ok("run", str(big), "-o", str(w2), "-c", str(cfg), "-w", "2", "-q", out=w2)
    assert output_bytes(w2) == output_bytes(ref)
    killed = tmp_path / "killed"
    args = [sys.executable, "-m", "thresher", "run", str(big), "-o", str(killed), "-c", str(cfg), "-w", "2", "-q"]
    proc = subprocess.Popen(args, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    folder = killed / "_work" / "done" / "ingest"
    t0 = time.time()
    while time.time() - t0 < 120 and proc.poll() is None:
        if folder.exists() and len(list(folder.glob("*.json"))) >= 2:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running", "not killed in time"
    cli_ok(*args[3:], out=killed)
    assert output_bytes(killed) == output_bytes(ref)


def _raw_records(path: Path) -> list[bytes]:
    """The records of a .warc.gz as plain bytes (one per gzip member)."""
    data, out = path.read_bytes(), []
    while data:
        d = __import__("zlib").decompressobj(31)
        out.append(d.decompress(data))
        data = d.unused_data
    return out


def test_trafilatura_extractor(tmp_path):
    pytest.importorskip("trafilatura", reason="the trafilatura extractor is an optional extra (pip install 'thresher[trafilatura]')")
    cfg = tmp_path / "t.toml"
    cfg.write_text('[extract]\nextractor = "trafilatura"\n')
    out = tmp_path / "out"
    run([WARCS / "sample-0000.warc.gz"], out, "-c", str(cfg))
    docs = pq.read_table(out / "documents").to_pylist()
    assert docs and {d["extractor"] for d in docs} == {"trafilatura"}


def test_wet_conversion_records_are_documents_as_they_are(tmp_path):
    def conversion(text: str, rid: str) -> bytes:
        body = text.encode()
        return (b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:uuid:%s>\r\n"
                b"WARC-Target-URI: http://example.org/%s\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
                b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % (rid.encode(), rid.encode(), len(body))
                ) + body + b"\r\n\r\n"
    info = b"WARC/1.0\r\nWARC-Type: warcinfo\r\nWARC-Record-ID: <urn:uuid:i>\r\nContent-Length: 0\r\n\r\n\r\n\r\n"
    texts = {"w1": "A line of text as the crawler extracted it.\nAnd a second line.", "w2": "Ещё одна страница."}
    (tmp_path / "crawl.wet.gz").write_bytes(gzip.compress(info) + b"".join(
        gzip.compress(conversion(t, rid)) for rid, t in texts.items()))
    out = tmp_path / "out"
    run([tmp_path / "crawl.wet.gz"], out)
    docs = {d["id"]: d for d in pq.read_table(out / "documents").to_pylist()}
    assert {k[len("urn:uuid:"):]: d["text"] for k, d in docs.items()} == texts
    assert docs["urn:uuid:w1"]["url"] == "http://example.org/w1" and docs["urn:uuid:w1"]["extractor"] is None
    assert stats(out)["input"]["skipped"] == {"warcinfo": 1}


def test_trafilatura_missing_is_a_config_error_before_any_work(tmp_path, monkeypatch):
    import thresher
    from thresher.errors import ConfigError

    monkeypatch.setitem(sys.modules, "trafilatura", None)        # import trafilatura fails
    cfg = tmp_path / "t.toml"
    cfg.write_text('[extract]\nextractor = "trafilatura"\n')
    with pytest.raises(ConfigError, match=r"pip install 'thresher\[trafilatura\]'"):
        thresher.run([WARCS / "sample-0000.warc.gz"], tmp_path / "out", config=cfg)
    assert not (tmp_path / "out").exists()


def test_trim_keeps_the_article_from_just_before_its_first_sentence_to_its_last():
    from thresher.io.html import trim_to_prose
    article = ["Home", "News", "Sport", "Mehr Themen:", "Rain stops play", "By A. Writer", "3 May 2022",
               "The match was called off after two hours of rain had left the outfield under water.",
               "A subheading",
               "Both captains agreed that the replay should be held on Sunday morning „if the sky allows“",
               "Tags", "Share this", "Newsletter"]
    got = trim_to_prose("\n".join(article)).split("\n")
    assert got == article[4:10]
    listing = "Flour 500 g\nWater 350 g\nSalt 10 g"
    assert trim_to_prose(listing) == listing          # no sentence: nothing to bound, all kept
