#!/usr/bin/env bash
# Alarms are persisted: one set before a shutdown fires once after the restart (overdue),
# shows in status and ctl, and can be cancelled.
source "$(dirname "$0")/lib/common.sh"
a9_start
expect_eq 201 "$(h_code POST /v1/agents "$A9_TOKEN" '{"id":"al","kind":"echo"}')" "create"
expect_eq 204 "$(h_code POST /v1/fs/agents/al/ctl "$A9_TOKEN" 'alarm 1000 {"n":1}')" "set alarm"
expect_contains "$(h_get /v1/fs/agents/al/ctl)" "alarm 1 due " "ctl lists the alarm"
expect_contains "$(h_get /v1/agents/al)" '"next_alarm_at":"' "status next_alarm_at"
expect_eq 204 "$(h_code POST /v1/fs/agents/al/ctl "$A9_TOKEN" 'alarm 600000 later')" "second alarm"
expect_eq 204 "$(h_code POST /v1/fs/agents/al/ctl "$A9_TOKEN" 'cancel-alarm 2')" "cancel"
expect_eq 404 "$(h_code POST /v1/fs/agents/al/ctl "$A9_TOKEN" 'cancel-alarm 2')" "cancel again"
expect_eq 400 "$(h_code POST /v1/fs/agents/al/ctl "$A9_TOKEN" 'alarm soon')" "bad alarm"
a9_stop
sleep 1.5   # the alarm falls due while the daemon is down
a9_start
for _ in $(seq 1 200); do
  case "$(h_get /v1/fs/agents/al/logs/trajectory)" in *'"type":"alarm"'*) break ;; esac
  sleep 0.05
done
traj=$(h_get /v1/fs/agents/al/logs/trajectory)
expect_eq 1 "$(printf '%s\n' "$traj" | grep -c '"type":"alarm"')" "alarm ticks after restart"
sleep 0.5
expect_eq 1 "$(h_get /v1/fs/agents/al/logs/trajectory | grep -c '"type":"alarm"')" "still once"
expect_contains "$(h_get /v1/agents/al)" '"next_alarm_at":null' "alarm consumed"
expect_contains "$(h_get /v1/agents/al)" '"last_tick_cause":"alarm"' "last tick cause"
pass
