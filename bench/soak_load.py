#!/usr/bin/env python3
"""agent9 soak: the load generator, the drain wait and the reconciliation for bench/soak.sh.

Standard library only. bench/soak.sh runs the daemon (and kill -9s and restarts it); this file
talks to it over HTTP and the FUSE mount:

  soak_load.py setup     --dir D --echo N --exec M --program P [--sandbox-every K]
  soak_load.py load      --dir D --secs S --rate R --fuse-share F --exec-share X --mnt MNT
  soak_load.py drain     --dir D --timeout T
  soak_load.py reconcile --dir D [--out-dir O] [--meta K=V ...]

Shared state lives in D: `url` (the daemon's current base URL; soak.sh rewrites it after
each restart, so every reconnect reads it again), `token` (the admin token), `agents.json`
(written by setup), `load.json` + `acked.tsv` + `unacked.tsv` (written by load),
`drain.json` (written by drain), `kills.tsv` (written by soak.sh: one restart per line).

Every message carries a unique client id (`m<n>-<agent>`): the send is an envelope
`{"id","body"}`, so a retried send (same id) enqueues at most once. A message is
acknowledged when `POST /v1/agents/<id>/send` answered 202, or when the FUSE
open+write+close of a new file in `agents/<id>/inbox/` succeeded.
"""

import argparse
import bisect
import collections
import errno
import http.client
import io
import json
import os
import queue
import random
import sys
import tarfile
import threading
import time
import urllib.parse


def log(msg):
    sys.stderr.write("[soak %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def read_text(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


class Client:
    """One keep-alive HTTP connection to the daemon; reconnects (re-reading the URL file)."""

    def __init__(self, d, timeout=30.0):
        self.d = d
        self.timeout = timeout
        self.conn = None
        self.url = None
        self.token = read_text(os.path.join(d, "token"))

    def _connect(self):
        self.close()
        self.url = read_text(os.path.join(self.d, "url"))
        if not self.url:
            raise ConnectionError("no daemon URL yet")
        u = urllib.parse.urlsplit(self.url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def request(self, method, path, body=None):
        """One attempt: (status, body bytes). Raises OSError/HTTPException on transport errors
        (the connection is dropped, so the next call reconnects)."""
        if self.conn is None:
            self._connect()
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, data
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def retrying(self, method, path, body=None, deadline=None, ok=(200, 201, 202, 204)):
        """Retries transport errors and 5xx/429 until the deadline; returns (status, body)."""
        delay = 0.05
        while True:
            try:
                st, data = self.request(method, path, body)
                if st in ok or (400 <= st < 500 and st != 429):
                    return st, data
            except (OSError, http.client.HTTPException, ConnectionError):
                pass
            if deadline is not None and time.time() > deadline:
                raise TimeoutError("%s %s: daemon unreachable until the deadline" % (method, path))
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def agent_config(kind, program=None, sandbox=True):
    cfg = {
        "kind": kind,
        # Nothing may be pruned or refused during the soak: the reconciliation reads it all.
        "inbox": {"max_depth": 1000000, "overflow": "reject"},
        "retention": {"events": 10000000, "trajectory": 10000000},
        "max_attempts": 10,
    }
    if kind == "exec":
        cfg.update({"program": program, "timeout_ms": 60000, "sandbox": sandbox})
    return cfg


# ---------------------------------------------------------------------------------------------
# setup


def cmd_setup(a):
    c = Client(a.dir)
    t0 = time.time()
    deadline = t0 + 300
    agents = []
    for i in range(a.echo):
        agents.append({"id": "e%04d" % i, "kind": "echo", "sandbox": None})
    for i in range(a.exec):
        sandbox = a.sandbox_every > 0 and i % a.sandbox_every == 0
        agents.append({"id": "x%04d" % i, "kind": "exec", "sandbox": sandbox})
    for ag in agents:
        cfg = agent_config(ag["kind"], a.program, bool(ag["sandbox"]))
        st, data = c.retrying("POST", "/v1/agents",
                              json.dumps({"id": ag["id"], "config": cfg}), deadline, ok=(201,))
        if st != 201:
            log("creating %s: HTTP %d %s" % (ag["id"], st, data[:200]))
            return 2
    t_created = time.time()
    # Wait for every agent's init tick so the load starts on idle, ready agents.
    pending = [ag["id"] for ag in agents]
    while pending and time.time() < deadline:
        left = []
        for aid in pending:
            st, data = c.retrying("GET", "/v1/agents/" + aid, None, deadline)
            if st != 200 or json.loads(data).get("tick_count", 0) < 1:
                left.append(aid)
        pending = left
        if pending:
            time.sleep(0.2)
    if pending:
        log("%d agents never ran their init tick (e.g. %s)" % (len(pending), pending[0]))
        return 2
    with open(os.path.join(a.dir, "agents.json"), "w") as f:
        json.dump(agents, f)
    log("created %d echo and %d exec agents (%d sandboxed) in %.1f s; init ticks done %.1f s later" %
        (a.echo, a.exec, sum(1 for ag in agents if ag["sandbox"]), t_created - t0,
         time.time() - t_created))
    return 0


# ---------------------------------------------------------------------------------------------
# load


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {"http": 0, "fuse": 0}
        self.lat = {"http": [], "fuse": []}  # seconds, successful attempts only
        self.ack_after_due = []  # seconds from the scheduled time to the ack (retries included)
        self.retries = collections.Counter()  # transport/reason -> failed attempts
        self.dup_acks = 0  # 202s that said the id was already queued (a resend after a crash)
        self.rejected = collections.Counter()  # non-retryable answers (harness bug)
        self.ack_times = []
        self.slowest = []  # (scheduled->ack s, id, transport, failed attempts, last attempt s)

    def note_slow(self, wait, msg_id, tr, tries, lat):  # called with the lock held
        if len(self.slowest) < 10 or wait > self.slowest[-1][0]:
            self.slowest.append((wait, msg_id, tr, list(tries), lat))
            self.slowest.sort(key=lambda x: -x[0])
            del self.slowest[10:]


def http_worker(d, q, st, acked, unacked, hard_deadline):
    c = Client(d, timeout=30.0)
    while True:
        job = q.get()
        if job is None:
            return
        n, agent, msg_id, due = job
        body = json.dumps({"id": msg_id, "body": {"n": n, "via": "http"}})
        path = "/v1/agents/%s/send" % agent
        delay = 0.02
        tries = []
        while True:
            t = time.perf_counter()
            try:
                code, data = c.request("POST", path, body)
            except (OSError, http.client.HTTPException, ConnectionError) as e:
                code, data = None, type(e).__name__
            if code == 202:
                now = time.time()
                lat = time.perf_counter() - t
                with st.lock:
                    st.acked["http"] += 1
                    st.lat["http"].append(lat)
                    st.ack_after_due.append(now - due)
                    st.ack_times.append(now)
                    st.note_slow(now - due, msg_id, "http", tries, lat)
                    if b'"duplicate":true' in data:
                        st.dup_acks += 1
                acked.append((msg_id, agent, "http", "%.3f" % now))
                break
            if code is not None and code != 429 and code < 500:
                with st.lock:
                    st.rejected["http %d %s" % (code, data[:120].decode(errors="replace"))] += 1
                unacked.append((msg_id, agent, "http", "rejected %d" % code))
                break
            tries.append("%.3f %s" % (time.time() - due, code if code is not None else data))
            with st.lock:
                st.retries["http " + (str(code) if code is not None else data)] += 1
            if time.time() > hard_deadline:
                unacked.append((msg_id, agent, "http", "gave up"))
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


RETRY_ERRNOS = {errno.ENOTCONN, errno.ECONNABORTED, errno.ENOENT, errno.EIO, errno.EAGAIN,
                errno.EINTR, errno.EBUSY, errno.ESHUTDOWN, errno.ECONNRESET}


def fuse_worker(mnt, q, st, acked, unacked, hard_deadline):
    while True:
        job = q.get()
        if job is None:
            return
        n, agent, msg_id, due = job
        data = json.dumps({"id": msg_id, "body": {"n": n, "via": "fuse"}}).encode() + b"\n"
        path = "%s/agents/%s/inbox/%s" % (mnt, agent, msg_id)
        delay = 0.02
        tries = []
        while True:
            t = time.perf_counter()
            err = None
            fd = -1
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                f, fd = fd, -1
                os.close(f)  # the message is committed when close() returns 0
            except OSError as e:
                err = e.errno
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            if err is None:
                now = time.time()
                lat = time.perf_counter() - t
                with st.lock:
                    st.acked["fuse"] += 1
                    st.lat["fuse"].append(lat)
                    st.ack_after_due.append(now - due)
                    st.ack_times.append(now)
                    st.note_slow(now - due, msg_id, "fuse", tries, lat)
                acked.append((msg_id, agent, "fuse", "%.3f" % now))
                break
            name = errno.errorcode.get(err, str(err))
            if err not in RETRY_ERRNOS:
                with st.lock:
                    st.rejected["fuse " + name] += 1
                unacked.append((msg_id, agent, "fuse", "rejected " + name))
                break
            tries.append("%.3f %s" % (time.time() - due, name))
            with st.lock:
                st.retries["fuse " + name] += 1
            if time.time() > hard_deadline:
                unacked.append((msg_id, agent, "fuse", "gave up"))
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def pct(v, p):
    if not v:
        return None
    s = sorted(v)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def cmd_load(a):
    with open(os.path.join(a.dir, "agents.json")) as f:
        agents = json.load(f)
    echo = [ag["id"] for ag in agents if ag["kind"] == "echo"]
    exe = [ag["id"] for ag in agents if ag["kind"] == "exec"]
    rng = random.Random(a.seed)
    hq, fq = queue.Queue(), queue.Queue()
    st = Stats()
    acked, unacked = [], []  # list.append is atomic under the GIL
    t0 = time.time()
    end = t0 + a.secs
    hard_deadline = end + a.grace
    threads = []
    for _ in range(a.http_threads):
        t = threading.Thread(target=http_worker, args=(a.dir, hq, st, acked, unacked, hard_deadline),
                             daemon=True)
        t.start()
        threads.append(t)
    for _ in range(a.fuse_threads if a.fuse_share > 0 else 0):
        t = threading.Thread(target=fuse_worker, args=(a.mnt, fq, st, acked, unacked, hard_deadline),
                             daemon=True)
        t.start()
        threads.append(t)
    with open(os.path.join(a.dir, "load.started"), "w") as f:
        f.write("%.3f\n" % t0)
    log("load: %d msgs/s for %d s over %d agents (%.0f%% FUSE, %.0f%% to exec agents)" %
        (a.rate, a.secs, len(agents), 100 * a.fuse_share, 100 * a.exec_share))
    n = 0
    sent = {"http": 0, "fuse": 0}
    max_lag = 0.0
    next_report = t0 + 10
    while True:
        due = t0 + n / float(a.rate)
        if due >= end:
            break
        now = time.time()
        if due > now:
            time.sleep(due - now)
        else:
            max_lag = max(max_lag, now - due)
        pool = exe if (exe and (not echo or rng.random() < a.exec_share)) else echo
        agent = pool[rng.randrange(len(pool))]
        msg_id = "m%d-%s" % (n, agent)
        if a.fuse_share > 0 and rng.random() < a.fuse_share:
            fq.put((n, agent, msg_id, due))
            sent["fuse"] += 1
        else:
            hq.put((n, agent, msg_id, due))
            sent["http"] += 1
        n += 1
        if time.time() >= next_report:
            next_report += 10
            log("t=%3.0fs scheduled %d, acked %d, backlog http %d fuse %d" %
                (time.time() - t0, n, len(acked), hq.qsize(), fq.qsize()))
    scheduled_end = time.time()
    for _ in range(a.http_threads):
        hq.put(None)
    for _ in range(a.fuse_threads):
        fq.put(None)
    for t in threads:
        t.join(max(0.0, hard_deadline + 40 - time.time()))
    alive = sum(1 for t in threads if t.is_alive())
    # Jobs never tried (the workers gave up first) were never sent: they cannot land.
    unsent = []
    for qq, tr in ((hq, "http"), (fq, "fuse")):
        while True:
            try:
                job = qq.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                unsent.append((job[2], job[1], tr, "never sent"))
    t_done = max(st.ack_times) if st.ack_times else time.time()
    with open(os.path.join(a.dir, "acked.tsv"), "w") as f:
        for r in acked:
            f.write("\t".join(r) + "\n")
    with open(os.path.join(a.dir, "unacked.tsv"), "w") as f:
        for r in list(unacked) + unsent:
            f.write("\t".join(r) + "\n")
    total = st.acked["http"] + st.acked["fuse"]
    out = {
        "secs": a.secs, "rate_target": a.rate, "scheduled": n, "scheduled_http": sent["http"],
        "scheduled_fuse": sent["fuse"], "acked": total, "acked_http": st.acked["http"],
        "acked_fuse": st.acked["fuse"], "unacked": len(unacked) + len(unsent),
        "unsent": len(unsent), "dup_acks": st.dup_acks,
        "retries": dict(st.retries), "rejected": dict(st.rejected),
        "held_rate": total / max(1e-9, t_done - t0),
        "load_secs": t_done - t0, "schedule_secs": scheduled_end - t0,
        "max_schedule_lag_ms": max_lag * 1000, "threads_stuck": alive,
        "lat_ms": {},
        "ack_after_due_ms": {"p50": ms(pct(st.ack_after_due, 50)),
                             "p99": ms(pct(st.ack_after_due, 99)),
                             "max": ms(max(st.ack_after_due) if st.ack_after_due else None)},
        "t0": t0,
        "loadgen_cpu_s": round(sum(os.times()[:2]), 1),
        "slowest_acks": [{"id": i, "transport": tr, "scheduled_to_ack_ms": ms(w),
                          "last_attempt_ms": ms(lat), "failed_attempts": tries}
                         for (w, i, tr, tries, lat) in st.slowest],
    }
    for tr in ("http", "fuse"):
        out["lat_ms"][tr] = {"p50": ms(pct(st.lat[tr], 50)), "p99": ms(pct(st.lat[tr], 99)),
                             "max": ms(max(st.lat[tr]) if st.lat[tr] else None)}
    both = st.lat["http"] + st.lat["fuse"]
    out["lat_ms"]["all"] = {"p50": ms(pct(both, 50)), "p99": ms(pct(both, 99))}
    # The worst 10 s window of acks (kills show here).
    if st.ack_times:
        buckets = collections.Counter(int(x - t0) for x in st.ack_times)
        last = int(a.secs)
        worst = min(sum(buckets.get(s + k, 0) for k in range(10)) / 10.0
                    for s in range(0, max(1, last - 9)))
        out["worst_10s_rate"] = worst
    with open(os.path.join(a.dir, "load.json"), "w") as f:
        json.dump(out, f, indent=1)
    log("load done: %d acknowledged (HTTP %d, FUSE %d), %d not acknowledged, held %.1f msgs/s" %
        (total, st.acked["http"], st.acked["fuse"], out["unacked"], out["held_rate"]))
    if st.rejected:
        log("refused sends (harness bug?): %s" % dict(st.rejected))
    return 2 if (st.rejected or alive) else 0


def ms(x):
    return None if x is None else round(x * 1000.0, 2)


# ---------------------------------------------------------------------------------------------
# drain


def cmd_drain(a):
    with open(os.path.join(a.dir, "agents.json")) as f:
        agents = [ag["id"] for ag in json.load(f)]
    c = Client(a.dir)
    t0 = time.time()
    deadline = t0 + a.timeout
    pending = list(agents)
    depth = {}
    next_report = t0 + 10
    while time.time() < deadline:
        left = []
        for aid in pending:
            try:
                st, data = c.retrying("GET", "/v1/agents/" + aid, None, deadline)
            except TimeoutError:
                left.append(aid)
                continue
            if st != 200:
                log("status of %s: HTTP %d" % (aid, st))
                left.append(aid)
                continue
            s = json.loads(data)
            depth[aid] = s.get("queue_depth", 0)
            if depth[aid] > 0:
                left.append(aid)
        pending = left
        if not pending:
            break
        if time.time() >= next_report:
            next_report += 10
            log("draining: %d agents still hold %d messages" %
                (len(pending), sum(depth.get(x, 0) for x in pending)))
        time.sleep(0.5)
    out = {"drain_secs": time.time() - t0, "drained": not pending,
           "agents_not_drained": len(pending),
           "messages_queued": sum(depth.get(x, 0) for x in pending)}
    with open(os.path.join(a.dir, "drain.json"), "w") as f:
        json.dump(out, f)
    if pending:
        log("queues not drained after %d s: %d agents, %d messages" %
            (a.timeout, len(pending), out["messages_queued"]))
        return 3
    log("drained in %.1f s" % out["drain_secs"])
    return 0


# ---------------------------------------------------------------------------------------------
# reconcile


def jsonl(b):
    return [json.loads(line) for line in b.decode().splitlines() if line.strip()]


def cmd_reconcile(a):
    d = a.dir
    with open(os.path.join(d, "agents.json")) as f:
        agents = json.load(f)
    kind_of = {ag["id"]: ag["kind"] for ag in agents}
    load = json.load(open(os.path.join(d, "load.json")))
    drain = json.load(open(os.path.join(d, "drain.json"))) if os.path.exists(
        os.path.join(d, "drain.json")) else {"drained": False, "drain_secs": None}
    acked = {}
    ack_times = []
    for line in open(os.path.join(d, "acked.tsv")):
        mid, agent, tr, at = line.rstrip("\n").split("\t")
        ack_times.append(float(at))
        if mid in acked:
            log("harness: id %s acknowledged twice by the load generator" % mid)
        acked[mid] = agent
    unacked = {}
    for line in open(os.path.join(d, "unacked.tsv")):
        mid, agent, tr, why = line.rstrip("\n").split("\t")
        unacked[mid] = (agent, why)

    c = Client(d)
    deadline = time.time() + 300
    # Per id: where it was found. Each source counted separately.
    ok_ticks = collections.Counter()
    in_inbox = collections.Counter()
    in_dead = collections.Counter()
    replies = collections.Counter()
    found_in = {}  # id -> agent it was found in
    problems = []  # inconsistencies agent9 must not show (beyond lost/duplicated ids)
    ticks_total = 0
    failed_ticks = 0
    failed_reasons = collections.Counter()
    deadletters = 0
    for ag in agents:
        aid = ag["id"]
        st, data = c.retrying("GET", "/v1/agents/%s/export" % aid, None, deadline)
        if st != 200:
            log("export of %s: HTTP %d" % (aid, st))
            return 2
        tf = tarfile.open(fileobj=io.BytesIO(data))
        files = {m.name.lstrip("./"): tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}
        manifest = json.loads(files["manifest.json"])
        state = json.loads(files["state.json"])
        traj = jsonl(files.get("trajectory.jsonl", b""))
        inbox = jsonl(files.get("inbox.jsonl", b""))
        dead = jsonl(files.get("deadletter.jsonl", b""))
        outbox = jsonl(files.get("outbox.jsonl", b""))
        ok_msg_ticks = 0
        ok_tick_numbers = collections.Counter()
        for r in traj:
            trig = r.get("trigger", {})
            if r.get("result") != "ok":
                failed_ticks += 1
                failed_reasons[str(r.get("error"))[:100]] += 1
                continue
            ok_tick_numbers[r.get("tick")] += 1
            if trig.get("type") == "message":
                mid = trig.get("message_id", "")
                ok_ticks[mid] += 1
                found_in.setdefault(mid, aid)
                ok_msg_ticks += 1
        ticks_total += sum(ok_tick_numbers.values())
        twice = [t for t, k in ok_tick_numbers.items() if k > 1]
        if twice:
            problems.append("%s: tick numbers committed twice: %s" % (aid, twice[:5]))
        if sum(ok_tick_numbers.values()) != manifest.get("tick_count"):
            problems.append("%s: tick_count %s but %d ok trajectory records" %
                            (aid, manifest.get("tick_count"), sum(ok_tick_numbers.values())))
        for m in inbox:
            mid = m["envelope"].get("id", "")
            in_inbox[mid] += 1
            found_in.setdefault(mid, aid)
        for m in dead:
            mid = m["envelope"].get("id", "")
            in_dead[mid] += 1
            found_in.setdefault(mid, aid)
            deadletters += 1
        agent_replies = 0
        for e in outbox:
            ev = e.get("event", {})
            if isinstance(ev, str):
                ev = json.loads(ev)
            if ev.get("type") == "reply":
                replies[ev.get("in_reply_to", "")] += 1
                agent_replies += 1
        counter = state.get("echoed" if ag["kind"] == "echo" else "count")
        if counter != ok_msg_ticks:
            problems.append("%s: state counter %s but %d ok message ticks" %
                            (aid, counter, ok_msg_ticks))
        if agent_replies != ok_msg_ticks:
            problems.append("%s: %d replies in outbox but %d ok message ticks" %
                            (aid, agent_replies, ok_msg_ticks))

    all_ids = set(ok_ticks) | set(in_inbox) | set(in_dead) | set(replies)
    lost, dup, reply_missing, reply_twice, wrong_agent, unknown = [], [], [], [], [], []
    for mid in all_ids:
        if mid not in acked and mid not in unacked:
            unknown.append(mid)
    for mid, agent in acked.items():
        n = ok_ticks[mid] + in_inbox[mid] + in_dead[mid]
        if n == 0:
            lost.append(mid)
        elif n > 1:
            dup.append(mid)
        if n and found_in.get(mid) != agent:
            wrong_agent.append(mid)
        if ok_ticks[mid] == 1 and replies[mid] == 0:
            reply_missing.append(mid)
        if replies[mid] > 1:
            reply_twice.append(mid)
        if replies[mid] and not ok_ticks[mid]:
            problems.append("%s: replied to but no ok tick consumed it" % mid)
    landed_unacked = 0
    for mid, (agent, why) in unacked.items():
        n = ok_ticks[mid] + in_inbox[mid] + in_dead[mid]
        if n == 1:
            landed_unacked += 1
        elif n > 1:
            dup.append(mid)
        if replies[mid] > 1:
            reply_twice.append(mid)
    n_lost = len(lost) + len(reply_missing)
    n_dup = len(set(dup) | set(reply_twice))
    # kills.tsv (soak.sh): "<epoch of the kill -9> <ms until the new daemon listened>".
    kills = []
    kf = os.path.join(d, "kills.tsv")
    ack_times.sort()
    if os.path.exists(kf):
        for line in open(kf):
            p = line.split()
            if len(p) >= 2:
                at = float(p[0])
                # Answers already on their way when the kill landed still arrive: count from
                # the moment the new daemon listened.
                i = bisect.bisect_right(ack_times, at + float(p[1]) / 1000.0)
                nxt = ack_times[i] if i < len(ack_times) else None
                kills.append({"at_s": round(at - load["t0"], 1), "restart_ms": float(p[1]),
                              "first_ack_ms": None if nxt is None else round((nxt - at) * 1000)})
    meta = dict(kv.split("=", 1) for kv in a.meta)
    res = {
        "soak_secs": load["secs"], "kills": len(kills),
        "agents": {"echo": sum(1 for k in kind_of.values() if k == "echo"),
                   "exec": sum(1 for k in kind_of.values() if k == "exec"),
                   "exec_sandboxed": sum(1 for ag in agents if ag["sandbox"])},
        "acknowledged": len(acked), "acknowledged_http": load["acked_http"],
        "acknowledged_fuse": load["acked_fuse"], "rate_target": load["rate_target"],
        "held_rate": round(load["held_rate"], 1), "worst_10s_rate": load.get("worst_10s_rate"),
        "ticks": ticks_total, "failed_ticks": failed_ticks,
        "failed_tick_reasons": dict(failed_reasons.most_common(5)),
        "deadletters": deadletters,
        "consumed": sum(ok_ticks.values()), "still_queued": sum(in_inbox.values()),
        "lost": n_lost, "duplicated": n_dup,
        "lost_ids": sorted(lost)[:20], "reply_missing_ids": sorted(reply_missing)[:20],
        "duplicated_ids": sorted(set(dup) | set(reply_twice))[:20],
        "wrong_agent": len(wrong_agent), "unknown_ids": len(unknown),
        "inconsistencies": problems[:50], "inconsistency_count": len(problems),
        "unacknowledged": len(unacked), "unacknowledged_landed": landed_unacked,
        "unsent": load["unsent"], "resends_deduplicated": load["dup_acks"],
        "send_retries": load["retries"], "send_latency_ms": load["lat_ms"],
        "ack_after_due_ms": load["ack_after_due_ms"],
        "slowest_acks": load.get("slowest_acks", [])[:5],
        "max_schedule_lag_ms": round(load["max_schedule_lag_ms"], 1),
        "restarts": kills, "drained": drain["drained"], "drain_secs": drain["drain_secs"],
        "load_secs": round(load["load_secs"], 1), "loadgen_cpu_s": load.get("loadgen_cpu_s"),
        "daemon_cpu_s": float(meta["daemon_cpu_s"]) if meta.get("daemon_cpu_s") else None,
        "meta": meta,
    }
    harness = []
    if load.get("rejected"):
        harness.append("sends refused: %s" % load["rejected"])
    if load.get("threads_stuck"):
        harness.append("%d load threads stuck" % load["threads_stuck"])
    if not drain["drained"]:
        harness.append("queues not drained after the drain time box (%s messages left)" %
                       drain.get("messages_queued"))
    for extra in a.harness_error:
        harness.append(extra)
    res["harness_errors"] = harness
    verdict = "pass"
    if n_lost or n_dup or problems or wrong_agent or unknown:
        verdict = "FAIL: agent9 lost or duplicated messages"
    elif harness:
        verdict = "FAIL: harness: " + "; ".join(harness)
    res["verdict"] = verdict
    write_reports(a, res)
    return 1 if verdict.startswith("FAIL: agent9") else (2 if harness else 0)


def g(n):
    return "{:,}".format(n)


def fmt_ms(x):
    return "n/a" if x is None else ("%.1f" % x if x < 100 else "%.0f" % x)


def summary_lines(r):
    lat = r["send_latency_ms"]
    lines = [
        "soak: %d s, %d kills, %s acknowledged (HTTP %s, FUSE %s), held %.0f msgs/s (target %d), "
        "ticks %s; lost %d, duplicated %d" % (
            r["soak_secs"], r["kills"], g(r["acknowledged"]), g(r["acknowledged_http"]),
            g(r["acknowledged_fuse"]), r["held_rate"], r["rate_target"], g(r["ticks"]),
            r["lost"], r["duplicated"]),
        "  agents: %d echo, %d exec (%d sandboxed); consumed %s, still queued %s, dead letters %d, "
        "failed tick attempts %d" % (
            r["agents"]["echo"], r["agents"]["exec"], r["agents"]["exec_sandboxed"],
            g(r["consumed"]), g(r["still_queued"]), r["deadletters"], r["failed_ticks"]),
        "  send latency (successful attempts): p50 %s ms, p99 %s ms (HTTP p50 %s / p99 %s, "
        "FUSE p50 %s / p99 %s); scheduled->ack p99 %s ms, max %s ms" % (
            fmt_ms(lat["all"]["p50"]), fmt_ms(lat["all"]["p99"]), fmt_ms(lat["http"]["p50"]),
            fmt_ms(lat["http"]["p99"]), fmt_ms(lat["fuse"]["p50"]), fmt_ms(lat["fuse"]["p99"]),
            fmt_ms(r["ack_after_due_ms"]["p99"]), fmt_ms(r["ack_after_due_ms"]["max"])),
        "  restarts (kill -9 -> listening again / -> next ack): %s" % (
            ", ".join("t=%.0fs %.0f/%s ms" % (k["at_s"], k["restart_ms"],
                                              "-" if k["first_ack_ms"] is None
                                              else "%.0f" % k["first_ack_ms"])
                      for k in r["restarts"]) or "none"),
        "  not acknowledged: %d (%d landed once, %d never sent); resends deduplicated: %d; "
        "worst 10 s: %s msgs/s; drained in %s s" % (
            r["unacknowledged"], r["unacknowledged_landed"], r["unsent"],
            r["resends_deduplicated"],
            "n/a" if r["worst_10s_rate"] is None else "%.0f" % r["worst_10s_rate"],
            "n/a" if r["drain_secs"] is None else "%.1f" % r["drain_secs"]),
    ]
    if r.get("daemon_cpu_s") is not None:
        lines.append("  CPU during the %.0f s of load: daemon + its exec programs %.0f s (%.0f%% of "
                     "one CPU), load generator %.0f s (%.0f%%)" % (
                         r["load_secs"], r["daemon_cpu_s"],
                         100 * r["daemon_cpu_s"] / max(1, r["load_secs"]), r["loadgen_cpu_s"],
                         100 * r["loadgen_cpu_s"] / max(1, r["load_secs"])))
    if r["meta"].get("daemon_log_warnings", "0") != "0":
        lines.append("  daemon log: %s lines at warn/error level (kept with KEEP_TMP=1: "
                     "daemon.N.err)" % r["meta"]["daemon_log_warnings"])
    if r["failed_tick_reasons"]:
        lines.append("  failed tick reasons: %s" % r["failed_tick_reasons"])
    if r["lost"] or r["duplicated"] or r["inconsistency_count"] or r["wrong_agent"] or \
            r["unknown_ids"]:
        lines.append("  lost ids: %s; replies missing: %s" % (r["lost_ids"], r["reply_missing_ids"]))
        lines.append("  duplicated ids: %s" % r["duplicated_ids"])
        lines.append("  wrong agent: %d; unknown ids: %d; inconsistencies (%d): %s" % (
            r["wrong_agent"], r["unknown_ids"], r["inconsistency_count"],
            r["inconsistencies"][:10]))
    lines.append("soak: %s" % r["verdict"])
    return lines


def write_reports(a, r):
    lines = summary_lines(r)
    print("\n".join(lines))
    sys.stdout.flush()
    if not a.out_dir:
        return
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "soak.json"), "w") as f:
        json.dump(r, f, indent=1, sort_keys=True)
        f.write("\n")
    m = r["meta"]
    with open(os.path.join(a.out_dir, "soak.md"), "w") as f:
        f.write("# agent9 soak\n\n")
        f.write("%s · agent9 tree at %s (uncommitted edits not shown) · %s build · `%s`\n\n" % (
            m.get("when", "?"), m.get("revision", "?"), m.get("build", "?"), m.get("bin", "?")))
        f.write("Machine: %s CPUs, %s, %s. Load average (1 min) at start %s, at end %s.\n\n" % (
            m.get("nproc", "?"), m.get("cpu", "?"), m.get("kernel", "?"),
            m.get("load_start", "?"), m.get("load_end", "?")))
        f.write("Settings: SOAK_SECS=%s RATE=%s ECHO_AGENTS=%s EXEC_AGENTS=%s SANDBOX_EVERY=%s "
                "EXEC_SHARE=%s FUSE_SHARE=%s KILLS=%s SEED=%s, daemon `--sync %s`.\n\n"
                % (m.get("soak_secs"), m.get("rate"), m.get("echo_agents"), m.get("exec_agents"),
                   m.get("sandbox_every"), m.get("exec_share"), m.get("fuse_share"),
                   m.get("kills"), m.get("seed"), m.get("sync")))
        f.write("```\n" + "\n".join(lines) + "\n```\n\n")
        f.write("| figure | value |\n|---|---:|\n")
        rows = [
            ("acknowledged (HTTP 202 / FUSE close 0)", g(r["acknowledged"])),
            ("lost", r["lost"]), ("duplicated", r["duplicated"]),
            ("held rate, msgs/s (target %d)" % r["rate_target"], "%.1f" % r["held_rate"]),
            ("worst 10 s window, msgs/s", "n/a" if r["worst_10s_rate"] is None
             else "%.1f" % r["worst_10s_rate"]),
            ("committed ticks (incl. init)", g(r["ticks"])),
            ("failed tick attempts", r["failed_ticks"]),
            ("dead letters", r["deadletters"]),
            ("send p50 / p99, ms", "%s / %s" % (fmt_ms(r["send_latency_ms"]["all"]["p50"]),
                                               fmt_ms(r["send_latency_ms"]["all"]["p99"]))),
            ("HTTP send p50 / p99, ms", "%s / %s" % (fmt_ms(r["send_latency_ms"]["http"]["p50"]),
                                                    fmt_ms(r["send_latency_ms"]["http"]["p99"]))),
            ("FUSE send p50 / p99, ms", "%s / %s" % (fmt_ms(r["send_latency_ms"]["fuse"]["p50"]),
                                                    fmt_ms(r["send_latency_ms"]["fuse"]["p99"]))),
            ("scheduled → ack p99 / max, ms", "%s / %s" % (
                fmt_ms(r["ack_after_due_ms"]["p99"]), fmt_ms(r["ack_after_due_ms"]["max"]))),
            ("not acknowledged (landed once)", "%d (%d)" % (r["unacknowledged"],
                                                            r["unacknowledged_landed"])),
            ("resends answered as duplicates", r["resends_deduplicated"]),
            ("drain after the load, s", "n/a" if r["drain_secs"] is None
             else "%.1f" % r["drain_secs"]),
        ]
        for k, v in rows:
            f.write("| %s | %s |\n" % (k, v))
        f.write("\n## Restarts\n\n| kill at | kill -9 → listening, ms | kill -9 → next ack, ms |\n"
                "|---:|---:|---:|\n")
        for k in r["restarts"]:
            f.write("| %.1f s | %.0f | %s |\n" % (k["at_s"], k["restart_ms"],
                                                 "-" if k["first_ack_ms"] is None
                                                 else "%.0f" % k["first_ack_ms"]))
        f.write("\nFailed send attempts by cause (retried with the same id): `%s`\n" %
                json.dumps(r["send_retries"], sort_keys=True))
        f.write("\nHow to read this: docs/OPERATIONS.md, section Soak.\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--dir", required=True)
    s.add_argument("--echo", type=int, default=200)
    s.add_argument("--exec", type=int, default=100)
    s.add_argument("--program", default="")
    s.add_argument("--sandbox-every", type=int, default=2,
                   help="every K-th exec agent runs sandboxed (0: none)")
    s = sub.add_parser("load")
    s.add_argument("--dir", required=True)
    s.add_argument("--mnt", required=True)
    s.add_argument("--secs", type=float, default=300)
    s.add_argument("--rate", type=float, default=250)
    s.add_argument("--fuse-share", type=float, default=0.2)
    s.add_argument("--exec-share", type=float, default=0.1)
    s.add_argument("--http-threads", type=int, default=16)
    s.add_argument("--fuse-threads", type=int, default=4)
    s.add_argument("--grace", type=float, default=60, help="seconds past the end for retries")
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("drain")
    s.add_argument("--dir", required=True)
    s.add_argument("--timeout", type=float, default=180)
    s = sub.add_parser("reconcile")
    s.add_argument("--dir", required=True)
    s.add_argument("--out-dir", default="")
    s.add_argument("--meta", action="append", default=[])
    s.add_argument("--harness-error", action="append", default=[])
    a = p.parse_args()
    return {"setup": cmd_setup, "load": cmd_load, "drain": cmd_drain,
            "reconcile": cmd_reconcile}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
