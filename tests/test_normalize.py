import numpy as np
import pyarrow as pa
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.text.normalize import canonical, fingerprints

ALPHABET = st.sampled_from(list(" \t\n\r\x0b\x0c\x1c\x1fabAB.,\u00a0\x85\u1680\u2005\u202f\u205f\u00e9e\u0301\u3000\u2028ß\uff21\U0001f600"))


def reference(texts, **kw):
    digests = b"".join(xxhash.xxh3_128_digest(canonical(t, **kw).encode()) for t in texts)
    return np.frombuffer(digests, dtype=">u8").reshape(-1, 2).astype(np.uint64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(ALPHABET, max_size=30), max_size=40), st.booleans(), st.booleans(),
       st.sampled_from(["NFC", "NFKC", "none"]))
def test_kernel_equals_the_reference_canonical_form(texts, lowercase, fold, form):
    kw = dict(normalization=form, lowercase=lowercase, fold_whitespace=fold)
    assert (fingerprints(pa.array(texts, pa.string()), **kw) == reference(texts, **kw)).all()


def test_canonical_form():
    assert canonical("  Caf\u0065\u0301\n\n  ok \t") == "Caf\u00e9 ok"
    assert canonical("A  b", lowercase=True) == "a b"
    assert canonical("A  b", fold_whitespace=False) == "A  b"


def test_sliced_and_chunked_arrays():
    texts = ["a  b", " a b ", "x", "", "a b"]
    arr = pa.chunked_array([pa.array(texts[:2]), pa.array(texts[2:])])
    fp = fingerprints(arr)
    assert (fp[0] == fp[1]).all() and (fp[0] == fp[4]).all() and not (fp[0] == fp[2]).all()
    sliced = pa.array(texts, pa.large_string()).slice(1, 3)
    assert (fingerprints(sliced) == fp[1:4]).all()
