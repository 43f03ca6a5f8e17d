"""Publishes one simulated Age of Empires II match and follows it back over SSE.

Checks the whole round trip against a running pipeline: two followers (``follow`` in a
thread and ``afollow`` on asyncio) subscribe to the run first; the first half of the match
is published with ``ArenaClient``, the rest with ``AsyncArenaClient`` after re-sending the
first ten events (which ingest must recognise as duplicates). Each follower must receive
every event once, in order, ending with ``game_end``. Exits 0 on success, 1 otherwise.

    python3 examples/simulated_match.py [--seed N] [--pause]

``--pause`` stops after the first half until a line arrives on stdin, so that a test can
restart the gateway meanwhile: the followers then have to resume with ``Last-Event-ID``.
The pipeline is found through ``ARENA_INGEST_URL`` and ``ARENA_GATEWAY_URL`` (default the
ports of ``make run``), with ``ARENA_API_KEY`` and ``ARENA_READ_TOKEN`` when needed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from arena_client import ArenaClient, AsyncArenaClient, afollow, follow  # noqa: E402

MODELS = ["gpt-5", "claude-opus-4", "gemini-2.5-pro", "grok-4", "deepseek-r1", "qwen3-235b", "llama-4-maverick", "mistral-large"]
CIVS = ["Britons", "Franks", "Mongols", "Byzantines", "Aztecs", "Japanese", "Persians", "Vikings"]
ACTIONS = ["train_villager", "build_house", "gather_wood", "advance_age", "train_archers", "scout", "attack", "build_castle"]
DEADLINE = 90.0


def simulated_match(rng: random.Random, run_id: str) -> List[Dict[str, Any]]:
    """game_start; per turn and player turn_start, observation, llm_response, action; game_end."""
    count = 2 if rng.random() < 0.6 else rng.randint(3, 8)
    players = [{"player_id": f"p{i + 1}", "model": m, "civ": rng.choice(CIVS)} for i, m in enumerate(rng.sample(MODELS, count))]
    events: List[Dict[str, Any]] = [{"type": "game_start", "payload": {"game": "aoe2", "map": "Arabia", "players": players}}]
    for turn in range(1, rng.randint(6, 12) + 1):
        for p in players:
            pid, model = p["player_id"], p["model"]
            action = rng.choice(ACTIONS)
            valid = rng.random() > 0.08
            events += [
                {"type": "turn_start", "payload": {"turn": turn, "player_id": pid}},
                {"type": "observation", "payload": {"turn": turn, "player_id": pid,
                                                    "observation": {"food": rng.randint(0, 2000), "wood": rng.randint(0, 2000)}}},
                {"type": "llm_response", "payload": {"turn": turn, "player_id": pid, "model": model,
                                                     "prompt_tokens": rng.randint(1200, 6000), "completion_tokens": rng.randint(40, 600),
                                                     "latency_ms": round(rng.uniform(800, 4000), 1), "text": f"I will {action.replace('_', ' ')}."}},
                {"type": "action", "payload": {"turn": turn, "player_id": pid, "action": action, "valid": valid,
                                               "error": None if valid else "target out of range"}},
            ]
        if turn == 3:
            events.append({"type": "error", "payload": {"player_id": players[0]["player_id"], "message": "agent timed out once", "fatal": False}})
    order = list(players)
    rng.shuffle(order)
    events.append({"type": "game_end", "payload": {"results": [{"player_id": p["player_id"], "model": p["model"], "rank": i + 1}
                                                               for i, p in enumerate(order)], "reason": "resignation"}})
    for seq, event in enumerate(events, start=1):
        event["run_id"], event["seq"] = run_id, seq
    return events


class Received:
    """What one follower got; ``done`` once it saw game_end (or failed)."""

    def __init__(self, name: str):
        self.name = name
        self.events: List[Dict[str, Any]] = []
        self.ids: List[str] = []
        self.names: List[str] = []
        self.connections = 0
        self.error: Optional[BaseException] = None
        self.done = threading.Event()

    def add(self, event) -> bool:
        envelope = event.json()
        self.events.append(envelope)
        self.ids.append(event.id)
        self.names.append(event.event)
        return envelope["type"] == "game_end"

    def count(self) -> int:
        return len(self.events)


def follow_in_thread(run_id: str, into: Received):
    follower = follow(run_id, timeout=30)

    def run():
        try:
            for event in follower:
                if into.add(event):
                    break
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            into.error = e
        finally:
            into.connections = follower.connections
            into.done.set()

    threading.Thread(target=run, name="follow", daemon=True).start()
    return follower


def afollow_in_thread(run_id: str, into: Received) -> None:
    async def run():
        follower = afollow(run_id, timeout=30)
        try:
            async for event in follower:
                if into.add(event):
                    break
        finally:
            into.connections = follower.connections
            await follower.aclose()

    def main():
        try:
            asyncio.run(asyncio.wait_for(run(), DEADLINE))
        except BaseException as e:  # noqa: BLE001
            into.error = e
        finally:
            into.done.set()

    threading.Thread(target=main, name="afollow", daemon=True).start()


def wait_for(what: str, condition) -> None:
    deadline = time.monotonic() + DEADLINE
    delay = 0.01
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL: timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def check(received: Received, sent: List[Dict[str, Any]], resumed: bool) -> List[str]:
    problems = []
    if received.error is not None:
        problems.append(f"{received.name}: {received.error!r}")
    got = [(e["event_id"], e["seq"], e["type"]) for e in received.events]
    want = [(e["event_id"], e["seq"], e["type"]) for e in sent]
    if got != want:
        problems.append(f"{received.name}: got {len(got)} events, want {len(want)}; first difference at "
                        f"{next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))}")
    if len(set(received.ids)) != len(received.ids):
        problems.append(f"{received.name}: an SSE id came twice")
    if any(not e.get("stream_id") or e["stream_id"] != i for e, i in zip(received.events, received.ids)):
        problems.append(f"{received.name}: an event's id: differs from its stream_id")
    wrong_names = [(n, e["type"]) for n, e in zip(received.names, received.events) if n != ("arena.error" if e["type"] == "error" else e["type"])]
    if wrong_names:
        problems.append(f"{received.name}: event names {wrong_names[:3]}")
    if resumed and received.connections < 2:
        problems.append(f"{received.name}: the gateway was restarted but it connected {received.connections} time(s)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pause", action="store_true", help="wait for a line on stdin after the first half (the gateway may restart)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    run_id = f"py-{time.strftime('%Y%m%d-%H%M%S')}-{rng.getrandbits(32):08x}-{random.getrandbits(16):04x}"
    events = simulated_match(rng, run_id)
    half = len(events) // 2

    threaded, asynchronous = Received("follow"), Received("afollow")
    follower = follow_in_thread(run_id, threaded)
    afollow_in_thread(run_id, asynchronous)

    with ArenaClient(run_id=run_id, flush_interval=0.05, max_batch_events=16) as client:
        for event in events[:half]:
            client.publish(event)
    wait_for("the first half to come back", lambda: threaded.count() >= half and asynchronous.count() >= half)
    print(f"first half: {half} events published and received", flush=True)

    if args.pause:
        print("paused", flush=True)
        if not sys.stdin.readline():
            print("FAIL: stdin closed while paused", flush=True)
            return 1

    async def second_half() -> int:
        async with AsyncArenaClient(run_id=run_id, flush_interval=0.05, max_batch_events=16) as client:
            await client.publish_many(events[:10])  # re-sent: the same event_ids, so nothing new
            await client.flush()
            for event in events[half:]:
                await client.publish(event)
        return client.stats.duplicates

    duplicates = asyncio.run(second_half())
    wait_for("both followers to see game_end", lambda: threaded.done.is_set() and asynchronous.done.is_set())
    follower.close()

    sent = [dict(e, event_id=f"{e['run_id']}:{e['seq']}") for e in events]
    problems = check(threaded, sent, args.pause) + check(asynchronous, sent, args.pause)
    if duplicates != 10:
        problems.append(f"the re-sent events came back as {duplicates} duplicate(s), not 10")
    summary = {"run_id": run_id, "events": len(events), "duplicates": duplicates,
               "connections": {"follow": threaded.connections, "afollow": asynchronous.connections}}
    print(json.dumps(summary), flush=True)
    for problem in problems:
        print(f"FAIL: {problem}", flush=True)
    if not problems:
        print("OK: every event arrived once and in order on both followers", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
