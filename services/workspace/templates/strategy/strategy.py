#!/usr/bin/env python3
"""A moving-average crossover over prices read from the Bourse API.

Usage: python3 strategy.py SYMBOL [--fast N] [--slow N] [--days N]
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, timedelta
from decimal import Decimal

API = os.environ.get("BOURSE_API_URL", "http://127.0.0.1:8080").rstrip("/")


def closes(symbol: str, days: int) -> list[tuple[str, Decimal]]:
    """Daily closes, oldest first, from the gateway's price history."""
    start = (date.today() - timedelta(days=days)).isoformat()
    query = urllib.parse.urlencode({"from": start})
    url = f"{API}/api/v1/stocks/{urllib.parse.quote(symbol)}/history?{query}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
    except urllib.error.HTTPError as err:
        sys.exit(f"{symbol}: the API answered {err.code}: {err.read().decode(errors='replace')}")
    # Prices are decimal strings: never floats.
    return [(day["date"], Decimal(day["close"])) for day in body["data"]["closes"]]


def moving_average(values: list[Decimal], window: int) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    total = Decimal(0)
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / window if i >= window - 1 else None)
    return out


def signals(series: list[tuple[str, Decimal]], fast: int, slow: int) -> list[tuple[str, str, Decimal]]:
    """(day, "buy" | "sell", close) each time the fast average crosses the slow one."""
    prices = [close for _, close in series]
    fast_ma, slow_ma = moving_average(prices, fast), moving_average(prices, slow)
    out = []
    for i in range(1, len(series)):
        if None in (fast_ma[i - 1], slow_ma[i - 1], fast_ma[i], slow_ma[i]):
            continue
        before = fast_ma[i - 1] - slow_ma[i - 1]
        now = fast_ma[i] - slow_ma[i]
        if before <= 0 < now:
            out.append((series[i][0], "buy", prices[i]))
        elif before >= 0 > now:
            out.append((series[i][0], "sell", prices[i]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("symbol")
    parser.add_argument("--fast", type=int, default=20)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    if not 0 < args.fast < args.slow:
        sys.exit("--fast must be positive and below --slow")
    series = closes(args.symbol, args.days)
    if len(series) < args.slow:
        sys.exit(f"{args.symbol}: {len(series)} days of prices, {args.slow} needed")
    for day, action, close in signals(series, args.fast, args.slow):
        print(f"{day}  {action:4}  {close}")


if __name__ == "__main__":
    main()
