#!/bin/sh
# A shell agent for agent9's exec kind: reads the tick input (one JSON object) on stdin and
# answers every message with its body, counting the messages it answered in its state.
# Needs only sh and sed.
input=$(cat)
count=$(printf '%s' "$input" | sed -n 's/.*"state":{"count":\([0-9]*\)}.*/\1/p')
count=${count:-0}
case "$input" in
  *'"trigger":{"type":"init"}'*)
    # The first tick after creation.
    printf '{"state":{"count":0},"log":["shell agent ready"]}\n' ;;
  *'"type":"message"'*)
    count=$((count + 1))
    body=$(printf '%s' "$input" | sed -n 's/.*"message":{"body":\(.*\),"from":.*/\1/p')
    printf '{"state":{"count":%d},"reply":%s,"log":["shell agent tick %d"]}\n' \
      "$count" "${body:-null}" "$count" ;;
  *)
    printf '{"state":{"count":%d}}\n' "$count" ;;
esac
