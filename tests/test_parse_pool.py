"""inbox.parse_pool: the worker that parses ahead starts without the parent's script, and
reads what the steps will read of each message alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from inbox.message import ParsedMessage
from inbox.parse_pool import MIN_BATCH_FOR_POOL, ParsePool
from tests.support.mail import make_message

ROOT = Path(__file__).resolve().parent.parent

# A stand-in for the `mailbag` script: it notes each time a process imports it other than
# as the program itself (a spawned worker re-running it would), then parses through a pool.
SCRIPT = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    sys.path.insert(0, {root!r})
    if __name__ != "__main__":
        with open(Path(sys.argv[1]) / "imported", "a") as marker:
            marker.write(__name__ + "\\n")
    from inbox.message import ParsedMessage
    from inbox.parse_pool import MIN_BATCH_FOR_POOL, ParsePool

    if __name__ == "__main__":
        raws = [b"Subject: letter %d\\n\\nhello\\n" % n for n in range(MIN_BATCH_FOR_POOL)]
        with ParsePool(1_000_000, workers=1) as pool:
            deadline = time.monotonic() + 60  # the worker takes a moment to start
            while (future := pool.submit(raws)) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            parsed = future.result()
        print(sum(isinstance(p, ParsedMessage) for p in parsed))
    """
)


def test_the_parse_worker_does_not_run_the_script_that_started_its_parent(tmp_path: Path):
    script = tmp_path / "mailbag_like.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(MIN_BATCH_FOR_POOL)]  # the worker parsed them all
    assert not (tmp_path / "imported").exists()  # and never imported the script


def test_the_worker_reads_each_signature_ahead_and_sends_it_back_with_the_message():
    signed = "Dear Jane,\n\nThe bins were missed again.\n\nMary Jones\n12 Acacia Avenue\nEX1 2AB\n"
    raws = [make_message(subject=f"Bins {n}", body=signed) for n in range(MIN_BATCH_FOR_POOL)]
    with ParsePool(1_000_000, workers=1) as pool:
        deadline = time.monotonic() + 60  # the worker takes a moment to start
        while (future := pool.submit(raws)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert future is not None
        parsed = future.result()
    assert all(isinstance(p, ParsedMessage) and "contact" in vars(p) for p in parsed)
    assert {p.contact.postcode for p in parsed if isinstance(p, ParsedMessage)} == {"EX1 2AB"}
