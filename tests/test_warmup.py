"""Kernels are compiled once per machine, spread over the workers, before the first phase
(engine/warmup.py): on a cold numba cache the run says so in its first line, and afterwards a new
process runs the whole default pipeline without compiling anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES, ROOT, shared_path

#: A run that counts every kernel numba compiles in this process (the inline executor runs every
#: task here, so a kernel any worker would compile is compiled here).
COUNT_COMPILES = """
import sys
from numba.core import event
compiled = []
class Listen(event.Listener):
    def on_start(self, ev): pass
    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        if f.__module__.startswith("thresher"):
            compiled.append(f.__module__ + "." + f.__name__)
event.register("numba:compile", Listen())
import thresher
if __name__ == "__main__":
    thresher.run(sys.argv[2:], sys.argv[1], workers=1, config={"report": {"enabled": False}})
    print(" ".join(compiled))
"""


@pytest.mark.slow
def test_a_cold_machine_compiles_once_then_never_again(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), PYTHONPATH=str(ROOT / "src"))
    cold = subprocess.run([sys.executable, "-m", "thresher", "run", str(EXAMPLES), "-o",
                           str(tmp_path / "a"), "-w", "2"], capture_output=True, text=True, env=env)
    assert cold.returncode == 0, cold.stderr
    said = cold.stderr.splitlines()
    assert "thresher run: loading the steps" in said[0], cold.stderr
    assert "phase compile kernels: started (" in said[1], cold.stderr
    marks = sorted(os.listdir(tmp_path / "numba" / "thresher-warm"))
    assert {m.rsplit("-", 1)[0] for m in marks} >= {"text.scan", "text.edit", "quality", "near_dup"}

    script = tmp_path / "count.py"
    script.write_text(COUNT_COMPILES)
    inputs = [str(EXAMPLES), str(shared_path("seeds"))]
    warm = subprocess.run([sys.executable, str(script), str(tmp_path / "b"), *inputs],
                          capture_output=True, text=True, env=env)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.strip() == "", f"compiled after the warm-up: {warm.stdout}"

    again = subprocess.run([sys.executable, "-m", "thresher", "run", str(EXAMPLES), "-o",
                            str(tmp_path / "c"), "-w", "2"], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert "compile kernels" not in again.stderr


def test_the_cli_answers_help_without_loading_the_library():
    """``thresher --help`` imports click and rich only (0.12-0.19 s here, benchmarks/first_run.py);
    the library, numba and pyarrow load when a command needs them."""
    probe = ("import sys, thresher.cli; print(' '.join(m for m in ('numba', 'pyarrow', 'thresher.api', "
             "'thresher.registry') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
    helped = subprocess.run([sys.executable, "-m", "thresher", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "Usage:" in helped.stdout
    import thresher

    assert thresher.run.__module__ == "thresher.api" and "run" in dir(thresher)
    with pytest.raises(AttributeError):
        thresher.no_such_name
