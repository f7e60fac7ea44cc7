# The jq program a websocat + jq user would write to get wstail-like envelopes
# out of a Paymium public capture: the baseline of `replay-capture-jq`.
#
#   jq -nc -f bench/normalize.jq bench/data/public.jsonl
#
# It does the same work as `wstail replay public.jsonl`, not byte for byte:
# the capture's `sio` lines (`select(.[1]=="sio") | .[3] | fromjson`), one
# envelope per trade, per depth level (bids/asks), per ticker, prices and
# announcement, decimal strings in numeric fields turned into numbers, seq,
# recv_ts (capture start + offset) and event_ts (seconds or milliseconds) in
# RFC 3339 with microseconds. What it leaves out: wstail's exact-decimal
# numbers (jq prints doubles: 0.00000000 -> 0, not 0.0), unknown keys walked
# as wstail does, the 2015 shapes and the private channels.

# Fields holding amounts, prices and epoch times (wstail's NUMERIC_FIELDS).
def numeric: {
  "amount": 1, "ask": 1, "at": 1, "balance": 1, "bid": 1, "broker_price": 1,
  "high": 1, "low": 1, "midpoint": 1, "open": 1, "price": 1, "size": 1,
  "timestamp": 1, "traded_btc": 1, "traded_currency": 1, "variation": 1,
  "volume": 1, "vwap": 1
};

# Decimal strings of numeric fields to numbers, one object deep. (reduce over
# the keys: twice as fast in jq 1.6 as with_entries(... .value |= tonumber).)
def nums: numeric as $n
  | reduce keys_unsorted[] as $k (.;
      if $n[$k] and (.[$k] | type) == "string" then .[$k] = (.[$k] | tonumber) else . end);

# Microseconds since the epoch to "2026-11-23T10:00:00.097525Z".
def usiso: (. / 1000000 | floor) as $s
  | ((. - $s * 1000000) | tostring) as $f
  | ($s | strftime("%Y-%m-%dT%H:%M:%S")) + "." + ("000000"[($f | length):] + $f) + "Z";

# An event's own time (seconds, or milliseconds past 1e11) as above; 0 or none: null.
def ets: if type == "number" and . > 0
  then (if . < 100000000000 then . * 1000000 else . * 1000 end) | usiso
  else null end;

# One Socket.IO event array to [event, event_ts, data] items, in the frame's order.
def items:
  if .[0] == "stream" and (.[1] | type) == "object" then
    [.[1] | to_entries[] | .key as $k | .value as $v
      | if $k == "trades" then $v[] | nums | ["trade", (.timestamp | ets), .]
        elif $k == "bids" or $k == "asks" then $v[] | nums | ["depth", (.timestamp | ets), .]
        elif $k == "ticker" then $v | nums | ["ticker", (.at | ets), .]
        elif $k == "prices" then $v | map_values(nums)
          | ["prices", ([.[].timestamp] | max | ets), .]
        else ["unknown", null, {($k): $v}]
        end]
  elif .[0] == "announcement" then [["announcement", null, {"notices": .[1]}]]
  else [["unknown", null, {"event": .[0], "args": .[1:]}]]
  end;

# State: the capture start (µs), the last seq, and this line's items.
foreach inputs as $line ({"seq": 0, "items": []};
  if ($line | type) == "object" then  # the capture header
    {"start": ($line.start | (.[0:19] + "Z" | fromdate) * 1000000 + (.[20:26] | tonumber)),
     "seq": ($line.first_seq - 1), "items": []}
  elif $line[1] == "sio" then
    .seq += (.items | length)
    | .recv = (.start + ($line[0] * 1000000 | round) | usiso)
    | .items = ($line[3] | fromjson | items)
  else  # meta lines take a seq number without being printed, as in wstail
    .seq += (.items | length) + 1 | .items = []
  end;
  .seq as $seq | .recv as $recv
  | range(0; .items | length) as $i | .items[$i]
  | {"seq": ($seq + $i + 1), "recv_ts": $recv, "source": "paymium.public",
     "event": .[0], "event_ts": .[1], "data": .[2]})
