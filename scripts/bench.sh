#!/usr/bin/env bash
# Courser beside Dovecot and Courier-IMAP, one run, same machine (issue 7).
#
# As root on Debian: installs Dovecot (dovecot-core, plus dovecot-imapd and
# dovecot-pop3d unpacked privately because they conflict with Courier's
# packages) and Courier-IMAP/POP3 with authdaemond and a userdb; generates
# the maildirs once with `courser-bench generate`; gives each server its own
# copy (owned by nobody) and the same users and password; then for each
# server in turn runs every workload of `courser-bench` cold and again after
# that priming pass; finally writes docs/benchmarks.md and PNG plots with
# scripts/bench_report.py.
#
#   scripts/bench.sh [--quick] [--messages N] [--idle N] [--clients N]
#                    [--secs S] [--servers "courser dovecot courier"] [--no-build]
#                    [--imaptest PATH]
#
# --imaptest (or IMAPTEST=PATH) also runs Dovecot's imaptest stress profile
# (random LOGIN/SELECT/FETCH/STORE/APPEND/EXPUNGE with every session's view
# of the mailbox tracked) against each server with 10 and 50 clients on one
# account, after the warm pass: its operations/s and error count land in
# the report side by side. imaptest is not packaged: build it from its
# public sources against Debian's dovecot-dev, outside this repository; the
# binary's own tests/default.mbox is the message source (IMAPTEST_MBOX).
#
# --no-build uses the release binaries already in $CARGO_TARGET_DIR (or
# $COURSER_BIN / $COURSER_BENCH_BIN).
#
# Everything lives under $BENCH_WORK (default /tmp/courser-bench); only
# loopback ports 21xxx (Courser), 22xxx (Dovecot), 23xxx (Courier) are used.
# System changes: Debian packages only (Courier runs in a private mount
# namespace with its own copy of /etc/courier; see courier_setup).
#
# "Cold" (written down in docs/benchmarks.md too): the server was just
# started, over maildirs whose UID lists exist (courierimapuiddb for
# Courser and Courier, dovecot-uidlist for Dovecot, made by a first,
# separately reported "first open" pass) and with every disposable
# server-side cache deleted (Dovecot's dovecot.index*, Courser's
# courserindex; Courier keeps none). The OS page cache is not dropped: files are warm in
# RAM for every server alike. "Warm" is the same workloads again on the
# same running server right after the cold pass.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0
MESSAGES=100000
IDLE=200
CLIENTS=20
SECS=30
LOGIN_SECS=10
SMALL=1000         # messages in each mixed-workload user's INBOX
RATE=600           # operations/s of the paced mixed run (every server keeps up)
SERVERS="courser dovecot courier"
BUILD=1
IMAPTEST=${IMAPTEST:-}
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1; MESSAGES=2000; IDLE=20; CLIENTS=4; SECS=3; LOGIN_SECS=3; SMALL=200; RATE=40 ;;
    --messages) MESSAGES=$2; shift ;;
    --idle) IDLE=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --secs) SECS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    --no-build) BUILD=0 ;;
    --imaptest) IMAPTEST=$2; shift ;;
    *) echo "usage: $0 [--quick] [--messages N] [--idle N] [--clients N] [--secs S] [--rate OPS] [--servers LIST] [--no-build] [--imaptest PATH]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (installs packages, starts servers as root that serve as nobody)" >&2; exit 1; }

WORK=${BENCH_WORK:-/tmp/courser-bench}
RESULTS=$WORK/results
PASSWORD=bench-pw
NUID=$(id -u nobody); NGID=$(id -g nobody)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH=${COURSER_BENCH_BIN:-$CARGO_TARGET_DIR/release/courser-bench}
COURSER=${COURSER_BIN:-$CARGO_TARGET_DIR/release/courser}
ulimit -n 65536 2>/dev/null || ulimit -n 4096

log() { printf '\n=== %s\n' "$*"; }

# ---------------------------------------------------------------- install
install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  local want=(dovecot-core courier-imap courier-pop courier-authdaemon courier-authlib-userdb openssl)
  local missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Courier's and Dovecot's IMAP/POP3 packages conflict: unpack Dovecot's
  # protocol binaries privately (same version as dovecot-core).
  DV=$WORK/dovecot-pkg
  if [ ! -x "$DV/usr/lib/dovecot/imap" ] || [ ! -x "$DV/usr/lib/dovecot/pop3" ]; then
    local ver
    ver=$(dpkg-query -W -f='${Version}' dovecot-core)
    mkdir -p "$WORK/debs" "$DV"
    (cd "$WORK/debs" && { apt-get download "dovecot-imapd=$ver" "dovecot-pop3d=$ver" >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get download "dovecot-imapd=$ver" "dovecot-pop3d=$ver" >/dev/null; }; })
    for d in "$WORK"/debs/dovecot-*.deb; do dpkg -x "$d" "$DV"; done
  fi
  python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install -q matplotlib
}

# ---------------------------------------------------------------- data
generate_seed() {
  local stamp="$WORK/seed/.done-$MESSAGES-$CLIENTS-$SMALL"
  [ -e "$stamp" ] && return
  rm -rf "$WORK/seed"; mkdir -p "$WORK/seed"
  "$BENCH" generate --dir "$WORK/seed/big/Maildir" --count "$MESSAGES"
  for i in $(seq 1 "$CLIENTS"); do
    "$BENCH" generate --dir "$WORK/seed/user$i/Maildir" --count "$SMALL" >/dev/null
  done
  touch "$stamp"
}

users() { echo big; echo stress; for i in $(seq 1 "$CLIENTS"); do echo "user$i"; done; }

# A fresh copy of the seed for one server, owned by nobody.
fresh_homes() { # name
  local home=$WORK/$1/home
  rm -rf "$home"; mkdir -p "$home"
  cp -a "$WORK/seed/." "$home/"
  rm -f "$home"/.done-*
  mkdir -p "$home/stress/Maildir/"{cur,new,tmp}   # imaptest's account
  chown -R "$NUID:$NGID" "$home"
}

make_cert() {
  [ -e "$WORK/courier.pem" ] && return
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    -days 30 -subj /CN=localhost >/dev/null 2>&1
  cat "$WORK/key.pem" "$WORK/cert.pem" > "$WORK/courier.pem"
  chmod 600 "$WORK/key.pem" "$WORK/courier.pem"
  chown courier "$WORK/courier.pem" 2>/dev/null || true
}

wait_port() { # port
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 never opened" >&2; return 1
}

# ---------------------------------------------------------------- courser
courser_setup() {
  local d=$WORK/courser
  mkdir -p "$d"
  : > "$d/userdb"
  for u in $(users); do
    printf '%s\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' "$u" "$NUID" "$NGID" \
      "$d/home/$u" "$d/home/$u/Maildir" "$HASH" >> "$d/userdb"
  done
  chmod 600 "$d/userdb"; chown "$NUID:$NGID" "$d/userdb"
  # Courser reads its key after dropping to nobody.
  install -m 600 -o "$NUID" -g "$NGID" "$WORK/key.pem" "$d/key.pem"
  install -m 644 "$WORK/cert.pem" "$d/cert.pem"
  cat > "$d/courser.toml" <<EOF
[[listener]]
protocol = "imap"
address = "127.0.0.1:21143"

[[listener]]
protocol = "imaps"
address = "127.0.0.1:21993"

[[listener]]
protocol = "pop3"
address = "127.0.0.1:21110"

[tls]
certificate = "cert.pem"
private_key = "key.pem"

[auth]
userdb = "userdb"

[limits]
# The idle workload holds hundreds of sessions of one account from one
# address (Dovecot's mail_max_userip_connections and Courier's MAXPERIP
# are raised the same way).
max_connections = 20000
max_connections_per_ip = 20000
max_connections_per_user = 20000
max_connections_per_user_ip = 20000

[server]
run_as = "nobody"
EOF
  IMAP_PORT[courser]=21143; IMAPS_PORT[courser]=21993; POP3_PORT[courser]=21110
}
courser_start() {
  "$COURSER" serve --config "$WORK/courser/courser.toml" >> "$WORK/courser/server.log" 2>&1 &
  echo $! > "$WORK/courser/pid"
  wait_port 21143
  PIDS=$(cat "$WORK/courser/pid")
}
courser_stop() { kill_pidfile "$WORK/courser/pid"; }
courser_clear_cache() { find "$WORK/courser/home" -name '*courserindex' -delete; }

# ---------------------------------------------------------------- dovecot
dovecot_setup() {
  local d=$WORK/dovecot
  mkdir -p "$d/run" "$d/state"
  : > "$d/passwd"
  for u in $(users); do
    printf '%s:{CRYPT}%s:%s:%s::%s::\n' "$u" "$HASH" "$NUID" "$NGID" "$d/home/$u" >> "$d/passwd"
  done
  chmod 644 "$d/passwd"
  sed -e "s|@WORK@|$WORK|g" -e "s|@DV@|$WORK/dovecot-pkg|g" \
    "$ROOT/crates/bench/assets/dovecot.conf" > "$d/dovecot.conf"
  IMAP_PORT[dovecot]=22143; IMAPS_PORT[dovecot]=22993; POP3_PORT[dovecot]=22110
}
dovecot_start() {
  /usr/sbin/dovecot -F -c "$WORK/dovecot/dovecot.conf" >> "$WORK/dovecot/server.log" 2>&1 &
  echo $! > "$WORK/dovecot/pid"
  wait_port 22143
  PIDS=$(cat "$WORK/dovecot/pid")
}
dovecot_stop() { kill_pidfile "$WORK/dovecot/pid"; }
dovecot_clear_cache() { find "$WORK/dovecot/home" -name 'dovecot.index*' -delete; }

# ---------------------------------------------------------------- courier
# Courier's paths (/etc/courier, the authdaemond socket in /run/courier) are
# compiled in. So that this run neither changes the system's Courier nor
# collides with tests that start the system's authdaemond, Courier runs in a
# private mount namespace where a copy of /etc/courier (with our userdb and
# authmodulelist="authuserdb") and a private /run/courier are bind-mounted.
courier_setup() {
  local d=$WORK/courier
  rm -rf "$d/etc" "$d/run"; mkdir -p "$d/run/authdaemon"
  cp -a /etc/courier "$d/etc"
  rm -rf "$d/etc/userdb" "$d/etc"/userdb*.dat
  : > "$d/etc/userdb"
  for u in $(users); do
    printf '%s\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' "$u" "$NUID" "$NGID" \
      "$d/home/$u" "$d/home/$u/Maildir" "$HASH" >> "$d/etc/userdb"
  done
  chmod 600 "$d/etc/userdb"
  sed -i 's/^authmodulelist=.*/authmodulelist="authuserdb"/' "$d/etc/authdaemonrc"
  cat > "$d/env" <<EOF
set -a
. /etc/courier/imapd; . /etc/courier/imapd-ssl; . /etc/courier/pop3d
IMAP_ENHANCEDIDLE=1
TLS_CERTFILE=$WORK/courier.pem
TLS_CACHEFILE=
IMAP_STARTTLS=NO
POP3_STARTTLS=NO
EOF
  local tcpd="/usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=20000 -maxperip=20000 -nodnslookup -noidentlookup"
  local envx="env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c"
  cat > "$d/inner.sh" <<EOF
set -e
mount --bind $d/etc /etc/courier
mount --bind $d/run /run/courier
/usr/sbin/makeuserdb
/usr/sbin/authdaemond start
$envx ". $d/env; exec $tcpd 23143 /usr/lib/courier/courier/imaplogin /usr/bin/imapd Maildir" >> $d/imap.log 2>&1 &
echo \$! > $d/imap.pid
$envx ". $d/env; IMAP_TLS=1; exec $tcpd 23993 /usr/bin/couriertls -server -tcpd -user=courier /usr/lib/courier/courier/imaplogin /usr/bin/imapd Maildir" >> $d/imaps.log 2>&1 &
echo \$! > $d/imaps.pid
$envx ". $d/env; exec $tcpd 23110 /usr/lib/courier/courier/courierpop3login /usr/lib/courier/courier/courierpop3d Maildir" >> $d/pop3.log 2>&1 &
echo \$! > $d/pop3.pid
wait
EOF
  IMAP_PORT[courier]=23143; IMAPS_PORT[courier]=23993; POP3_PORT[courier]=23110
}
courier_start() {
  local d=$WORK/courier
  unshare -m --propagation private sh "$d/inner.sh" >> "$d/ns.log" 2>&1 &
  echo $! > "$d/ns.pid"
  wait_port 23143; wait_port 23993; wait_port 23110
  PIDS="$(cat "$d/ns.pid") $(cat "$d/run/authdaemon/pid" 2>/dev/null || true)"
}
courier_stop() {
  local d=$WORK/courier
  for p in imap imaps pop3; do kill_pidfile "$d/$p.pid"; done
  if [ -e "$d/run/authdaemon/pid" ]; then
    cp "$d/run/authdaemon/pid" "$d/authdaemon.pid"; kill_pidfile "$d/authdaemon.pid"
  fi
  kill_pidfile "$d/ns.pid"
}
courier_clear_cache() { :; }

# ---------------------------------------------------------------- running
kill_pidfile() { # file: the process we started, then its children
  [ -e "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

bench() { # server pass workload args...
  bench_as "$1" "$2" "$3" "$3" "${@:4}"
}
bench_as() { # server pass name workload args... (results in SERVER-PASS-NAME.json)
  local s=$1 pass=$2 name=$3 w=$4; shift 4
  echo "--- $s $pass $name"
  "$BENCH" --label "$s" --password "$PASSWORD" --json "$RESULTS/$s-$pass-$name.json" "$w" "$@" \
    || echo "($s $pass $name: checks failed, see above)"
}

pass() { # server pass
  local s=$1 p=$2 ip=${IMAP_PORT[$1]} sp=${IMAPS_PORT[$1]} pp=${POP3_PORT[$1]}
  local pop=(); [ -n "$pp" ] && pop=(--pop3-port "$pp")
  local pidargs=(); for x in $PIDS; do pidargs+=(--pid "$x"); done
  bench "$s" "$p" bigfolder --port "$ip" --user big --expect "$MESSAGES" "${pop[@]}"
  bench "$s" "$p" mixed --port "$ip" --users "$CLIENTS" --clients "$CLIENTS" --secs "$SECS"
  # The same mix at one rate for every server: latencies under equal load.
  if [ "$p" = warm ]; then
    bench_as "$s" "$p" paced mixed --port "$ip" --users "$CLIENTS" --clients "$CLIENTS" \
      --secs "$SECS" --rate "$RATE"
    # One session per client for the whole run: every server's clients
    # spend their time on the operations, not on connecting and logging
    # in (slower on the peers, which leaves their machine less loaded).
    bench_as "$s" "$p" steady mixed --port "$ip" --users "$CLIENTS" --clients "$CLIENTS" \
      --secs "$SECS" --ops-per-session 1000000000
  fi
  bench "$s" "$p" idle --port "$ip" --user user1 --clients "$IDLE" "${pidargs[@]}" \
    --maildir "$WORK/$s/home/user1/Maildir" --push-timeout 90
  bench "$s" "$p" logins --port "$sp" --tls --users "$CLIENTS" --clients 8 --secs "$LOGIN_SECS"
}

# imaptest's stress profile on an emptied account, 10 then 50 clients; the
# raw output goes to RESULTS for bench_report.py.
imaptest_stress() { # server
  local s=$1 mbox=${IMAPTEST_MBOX:-$(dirname "$IMAPTEST")/tests/default.mbox}
  local md=$WORK/$s/home/stress/Maildir
  for c in 10 50; do
    find "$md" -mindepth 1 -maxdepth 1 ! -name cur ! -name new ! -name tmp -exec rm -rf {} +
    find "$md/cur" "$md/new" "$md/tmp" -type f -delete
    echo "--- $s imaptest stress, $c clients"
    LD_LIBRARY_PATH=/usr/lib/dovecot timeout $((SECS + 120)) "$IMAPTEST" host=127.0.0.1 \
      port="${IMAP_PORT[$s]}" user=stress pass="$PASSWORD" mbox="$mbox" clients="$c" \
      secs="$SECS" > "$RESULTS/$s-warm-imaptest$c.txt" 2>&1 || true
    tail -3 "$RESULTS/$s-warm-imaptest$c.txt"
  done
}

main() {
  mkdir -p "$WORK"
  log "installing packages"
  install_packages
  if [ "$BUILD" = 1 ]; then
    log "building (release)"
    cargo build --release -p courser -p courser-bench
  fi
  make_cert
  HASH=$(openssl passwd -6 -salt coursrbench "$PASSWORD")
  log "generating maildirs ($MESSAGES messages big folder, $CLIENTS users x $SMALL)"
  generate_seed
  rm -rf "$RESULTS"; mkdir -p "$RESULTS"
  declare -gA IMAP_PORT IMAPS_PORT POP3_PORT
  for s in $SERVERS; do
    log "$s"
    fresh_homes "$s"
    "${s}_setup"
    # First open: assigns UIDs (courierimapuiddb / dovecot-uidlist).
    "${s}_start"
    bench "$s" first bigfolder --port "${IMAP_PORT[$s]}" --user big --expect "$MESSAGES"
    "${s}_stop"
    "${s}_clear_cache"
    "${s}_start"
    pass "$s" cold
    pass "$s" warm
    [ -n "$IMAPTEST" ] && imaptest_stress "$s"
    "${s}_stop"
  done
  log "versions"
  {
    echo "courser=$("$COURSER" --version 2>/dev/null | head -1) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "dovecot=$(/usr/sbin/dovecot --version)"
    echo "courier=courier-imap $(dpkg-query -W -f='${Version}' courier-imap), courier-authlib $(dpkg-query -W -f='${Version}' courier-authdaemon)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory=$(free -h | awk '/^Mem:/{print $2}')"
    echo "kernel=$(uname -sr)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "params=messages=$MESSAGES idle=$IDLE clients=$CLIENTS secs=$SECS login_secs=$LOGIN_SECS small=$SMALL rate=$RATE quick=$QUICK"
    echo "date=$(date -u +%Y-%m-%d)"
  } > "$RESULTS/machine.txt"
  cat "$RESULTS/machine.txt"
  local out=docs
  [ "$QUICK" = 1 ] && out=$WORK/docs
  mkdir -p "$out"
  python3 "$ROOT/scripts/bench_report.py" "$RESULTS" "$out"
}

cleanup() {
  for s in courser dovecot; do kill_pidfile "$WORK/$s/pid"; done
  courier_stop 2>/dev/null || true
}
trap cleanup EXIT
main
