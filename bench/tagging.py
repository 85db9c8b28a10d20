"""Benchmark: tagging with the default rules beside a bare regex scan of the same texts.

Both read the subject and body of the same parsed messages (parsing is not timed). The bare
scan is one compiled, case-insensitive alternation of every keyword of the default rules,
and one `.search` per text, which stops at the first hit. Tagging finds every keyword of
every rule, checks each rule's other criteria, and picks a winner per axis with its reason.
Target: tagging at 30% or more of the bare scan's speed.

    .venv/bin/python bench/tagging.py [--messages 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inbox.parse import parse  # noqa: E402
from tagging.default_rules import DEFAULT_RULES, out_of_area_rule  # noqa: E402
from tagging.engine import RuleSet  # noqa: E402
from tagging.features import MessageFeatures  # noqa: E402
from tests.support.mailgen import generate_messages  # noqa: E402

POSTCODES = ("EX1", "EX2", "EX4 6")


def features(n: int) -> list[MessageFeatures]:
    """The generated messages, parsed once, as the tagging step sees them."""
    found = []
    for raw in generate_messages(n, seed=1):
        parsed = parse(raw)
        found.append(
            MessageFeatures(
                subject=parsed.subject,
                text=parsed.text,
                sender=parsed.sender.email if parsed.sender else "",
                attachment_types=tuple(a.content_type for a in parsed.attachments),
                kind="constituent",
                postcode="EX4 6AB",
            )
        )
    return found


def bare_pattern() -> re.Pattern[str]:
    words = {k.rstrip("*") for rule in DEFAULT_RULES for k in rule.keywords}
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b", re.IGNORECASE)


def best_rate(run: Callable[[], int], n: int, repeat: int) -> tuple[float, int]:
    """Messages per second of the fastest of `repeat` runs, and what the last run found."""
    best, found = 0.0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        found = run()
        best = max(best, n / (time.perf_counter() - started))
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    messages = features(args.messages)
    pattern = bare_pattern()
    rules = RuleSet([*DEFAULT_RULES, out_of_area_rule(POSTCODES)])

    def scan() -> int:
        return sum(1 for m in messages if pattern.search(m.subject) or pattern.search(m.text))

    def tag() -> int:
        return sum(len(rules.propose(m)) for m in messages)

    scan_rate, hits = best_rate(scan, args.messages, args.repeat)
    tag_rate, proposals = best_rate(tag, args.messages, args.repeat)
    print(f"tagging {args.messages} generated messages, {len(rules.rules)} rules (messages/s)")
    print(f"  bare regex scan, one alternation, .search   {scan_rate:9.0f}  ({hits} with a hit)")
    print(f"  tagging with the default rules              {tag_rate:9.0f}  ({proposals} proposals)")
    print(f"  ratio {tag_rate / scan_rate:.0%} of the bare scan (target 30%)")


if __name__ == "__main__":
    main()
