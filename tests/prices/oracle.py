"""The price package's own calculator, from PyPI (``genai-prices``, pinned in
tests/requirements.txt to the npm package's version), on usages read from standard input.

A JSON array of ``{model, provider, time_ms, usage}`` in, a JSON array of total prices (USD, or
null where the package has no price) out. A provider name the package does not know is dropped,
and the model alone then finds the provider, as llm-metrics does. Used by tests/reprice.rs.

    .venv/bin/python tests/prices/oracle.py < usages.json
"""

import json
import sys
import warnings
from datetime import datetime, timezone

import genai_prices
from genai_prices import Usage, calc_price


def price(case):
    usage = Usage(**{k: v for k, v in case["usage"].items() if v})
    when = datetime.fromtimestamp(case["time_ms"] / 1000, tz=timezone.utc)
    attempts = [case.get("provider") or None, None]
    for provider in dict.fromkeys(attempts):
        try:
            calc = calc_price(usage, case["model"], provider_id=provider,
                              genai_request_timestamp=when)
        except LookupError:
            continue
        return float(calc.total_price)
    return None


def main():
    warnings.simplefilter("ignore")
    if sys.argv[1:] == ["--version"]:
        print(genai_prices.__version__)
        return
    cases = json.load(sys.stdin)
    json.dump([price(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
