#!/usr/bin/env python3
"""A Python agent for agent9's exec kind.

Each tick: read the tick input from stdin, keep a running total of the numbers it is sent
(message bodies like {"add": 5}), reply with the total, and emit an event when the total
passes 100. Unknown messages are answered with an error reply; nothing here can crash the
runtime: a failing program only fails its own tick.
"""
import json
import sys

tick = json.load(sys.stdin)
state = tick.get("state") or {}
total = state.get("total", 0)
out = {"state": state, "log": []}
trigger = tick["trigger"]
if trigger["type"] == "message":
    body = trigger["message"].get("body")
    if isinstance(body, dict) and isinstance(body.get("add"), (int, float)):
        before = total
        total += body["add"]
        out["reply"] = {"total": total}
        if before <= 100 < total:
            out["emit"] = [{"type": "threshold", "total": total}]
    else:
        out["reply"] = {"error": "send {\"add\": <number>}"}
    out["log"].append("tick %d total %s" % (tick["tick"], total))
state["total"] = total
json.dump(out, sys.stdout)
