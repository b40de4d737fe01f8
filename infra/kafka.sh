#!/usr/bin/env bash
# Single-node Apache Kafka 4.x (KRaft) on loopback, from Maven Central jars.
#   infra/kafka.sh start   fetch jars if needed, format storage once, start, wait until it answers
#   infra/kafka.sh stop    stop the broker (state is kept; `clean` removes it)
#   infra/kafka.sh status  print the bootstrap address if running
#   infra/kafka.sh clean   stop and delete all broker state
# ONEXGEN_STACK=secure: SASL_SSL + SCRAM-SHA-512 only, ACLs enforced (docs/operations.md);
# a second SASL_SSL listener (EXPIRED) presents a certificate that expired, for the tests;
# `start` then also writes $K/client.env (what a client needs) and makes the users' ACLs.
source "$(dirname "$0")/common.sh"
K="$LOCAL/kafka"
SECURE=$([ "${ONEXGEN_STACK:-plain}" = secure ] && echo 1 || true)
# ONEXGEN_KAFKA_LIBS lets a second broker (fault tests) reuse jars already fetched; a stack
# under another ONEXGEN_LOCAL_DIR (the secured tests' one) uses the checkout's by default.
LIBS="${ONEXGEN_KAFKA_LIBS:-$ROOT/.local/kafka/libs}"
mkdir -p "$K"

fetch_jars() {
  if [ -f "$LIBS/.complete" ] && [ "$LIBS/.complete" -nt "$ROOT/infra/kafka/pom.xml" ]; then return; fi
  need java "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  need mvn "install Maven (Debian: apt-get install maven)"
  say "fetching Kafka jars from Maven Central (once)"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -q -B -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$K/mvn.log" 2>&1 \
    || { tail -20 "$K/mvn.log" >&2; die "mvn could not fetch the Kafka jars (log: $K/mvn.log)"; }
  touch "$LIBS/.complete"
}

# The serial collector and the JIT's C1 tier only (ONEXGEN_KAFKA_JVM_OPTS replaces both),
# for a broker sharing two cores with its clients (BENCHMARKS.md, sessions 5 and 6):
# - C1: a fresh broker's C2 compiler threads took more CPU than its request handlers in its
#   first minute under load (2.1 s against 1.5 s in 20 s); with C1 alone they took 0.85 s in
#   a whole 12-burst run, and the broker's CPU per request was lower, not higher;
# - serial GC: 223 against 270 µs of broker CPU per request with G1 (medians of six bursts
#   each, fresh stacks in alternation); G1's concurrent threads and barriers buy short
#   pauses on big heaps, and this heap is small.
# - except on the secured broker (STACK=secure), which keeps C2: on C1 it took 842 against
#   215 µs of CPU a request (plaintext), 370-440 with C2 (BENCHMARKS.md, "Secured against
#   plaintext"; TLS's AES-GCM is fast on the intrinsics C2 compiles in, we believe).
DEFAULT_JVM_OPTS=$([ -n "$SECURE" ] && echo "-XX:+UseSerialGC" || echo "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
JVM_OPTS="-Xms256m -Xmx${ONEXGEN_KAFKA_HEAP:-768m} ${ONEXGEN_KAFKA_JVM_OPTS-$DEFAULT_JVM_OPTS}"

java_run() {  # java_run MAINCLASS ARGS...
  java $JVM_OPTS \
       -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.yaml" -Dkafka.logs.dir="$K/logs" \
       -cp "$LIBS/*" "$@"
}

write_config() {
  # A restarted broker keeps its ports when they are still free, so clients can reconnect.
  local port ctl
  port=$(cat "$K/port" 2>/dev/null || true); ctl=$(cat "$K/ctl_port" 2>/dev/null || true)
  { [ -n "$port" ] && ! port_open "$port"; } || port=$(free_port)
  { [ -n "$ctl" ] && ! port_open "$ctl"; } || ctl=$(free_port)
  while [ "$ctl" = "$port" ]; do ctl=$(free_port); done
  echo "$ctl" >"$K/ctl_port"
  if [ -n "$SECURE" ]; then
    secure_files
    local exp; exp=$(cat "$K/expired_port" 2>/dev/null || true)
    { [ -n "$exp" ] && ! port_open "$exp"; } || exp=$(free_port)
    while [ "$exp" = "$port" ] || [ "$exp" = "$ctl" ]; do exp=$(free_port); done
    echo "$exp" >"$K/expired_port"
    sed -e "s|@PORT@|$port|g" -e "s|@CTL@|$ctl|g" -e "s|@DATA@|$K/data|g" -e "s|@EXPIRED@|$exp|g" \
        -e "s|@CERTS@|$LOCAL/certs|g" -e "s|@STORE_PASS@|$(cat "$LOCAL/certs/store.pass")|g" \
        -e "s|@ADMIN_PASS@|$(pass admin)|g" \
        "$ROOT/infra/kafka/server-secure.properties.in" >"$K/server.properties"
    chmod 600 "$K/server.properties"
  else
    sed -e "s|@PORT@|$port|g" -e "s|@CTL@|$ctl|g" -e "s|@DATA@|$K/data|g" \
        "$ROOT/infra/kafka/server.properties.in" >"$K/server.properties"
  fi
  echo "$port" >"$K/port"
}

# --- secure mode -------------------------------------------------------------------
# Users (SCRAM-SHA-512, added at storage format time): admin (super user: topics, ACLs),
# worker (exactly the ACLs docs/operations.md lists, for the default names), and
# noacl (no ACL at all: every request is refused).
USERS="admin worker noacl"
pass() { cat "$K/users/$1"; }

secure_files() {
  "$ROOT/infra/secure/certs.sh" "$LOCAL/certs"
  mkdir -p "$K/users"
  local u; for u in $USERS; do
    [ -f "$K/users/$u" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$K/users/$u")
  done
  (umask 077; cat >"$K/admin.properties" <<PROPS
bootstrap.servers=127.0.0.1:$(cat "$K/port" 2>/dev/null || echo 0)
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(pass admin)";
ssl.truststore.type=PEM
ssl.truststore.location=$LOCAL/certs/ca.crt
PROPS
  )
}

scram_args() { local u; for u in $USERS; do printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$u" "$(pass "$u")"; done; }

acl_tool() {  # acl_tool ARGS...: infra/secure/Acls.java, compiled once
  local classes="$K/acl-classes"
  if [ ! -f "$classes/Acls.class" ] || [ "$ROOT/infra/secure/Acls.java" -nt "$classes/Acls.class" ]; then
    need javac "install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)"
    mkdir -p "$classes"; javac -nowarn -d "$classes" -cp "$LIBS/*" "$ROOT/infra/secure/Acls.java"
  fi
  java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.yaml" \
       -Dkafka.logs.dir="$K/logs" -cp "$classes:$LIBS/*" Acls "$@"
}

worker_acls() {  # worker_acls PRINCIPAL PREFIX APP_ID: what docs/operations.md lists
  acl_tool add "$K/admin.properties" "User:$1" \
    "topic:$2.requests:READ,DESCRIBE" "topic:$2.feedback:READ,WRITE,DESCRIBE" \
    "topic:$2.results:WRITE,DESCRIBE" "topic:$2.dlq:WRITE,DESCRIBE" "topic:$2.alerts:READ,WRITE,DESCRIBE" \
    "topic:$3-__assignor-__leader:READ,WRITE,DESCRIBE,CREATE" \
    "group:$3:READ,DESCRIBE" "cluster:kafka-cluster:CREATE"
}

write_client_env() {
  local port; port=$(cat "$K/port")
  (umask 077; cat >"$K/client.env" <<ENV
ONEXGEN_KAFKA_BOOTSTRAP='127.0.0.1:$port'
ONEXGEN_KAFKA_SECURITY_PROTOCOL='SASL_SSL'
ONEXGEN_KAFKA_SASL_MECHANISM='SCRAM-SHA-512'
ONEXGEN_KAFKA_SASL_USERNAME='admin'
ONEXGEN_KAFKA_SASL_PASSWORD='$(pass admin)'
ONEXGEN_KAFKA_SSL_CAFILE='$LOCAL/certs/ca.crt'
ONEXGEN_STACK_KAFKA_WORKER_USERNAME='worker'
ONEXGEN_STACK_KAFKA_WORKER_PASSWORD='$(pass worker)'
ONEXGEN_STACK_KAFKA_NOACL_PASSWORD='$(pass noacl)'
ONEXGEN_STACK_CERTS='$LOCAL/certs'
ONEXGEN_STACK_KAFKA_EXPIRED_BOOTSTRAP='127.0.0.1:$(cat "$K/expired_port")'
ENV
  )
}

start() {
  if pid_alive "$(cat "$K/pid" 2>/dev/null)"; then
    say "kafka already running on 127.0.0.1:$(cat "$K/port")"; echo "127.0.0.1:$(cat "$K/port")"; return
  fi
  fetch_jars
  need java "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  local mode; mode=$([ -n "$SECURE" ] && echo secure || echo plain)
  if [ -f "$K/data/meta.properties" ] && [ "$(cat "$K/mode" 2>/dev/null || echo plain)" != "$mode" ]; then
    die "the broker under $K was made STACK=$(cat "$K/mode" 2>/dev/null || echo plain); start it so, or remove its state (infra/kafka.sh clean)"
  fi
  echo "$mode" >"$K/mode"
  # Ports are chosen per start (they are free now); storage keeps the cluster id.
  write_config
  if [ ! -f "$K/data/meta.properties" ]; then
    mkdir -p "$K/data"
    local cid; cid=$(java_run kafka.tools.StorageTool random-uuid 2>>"$K/format.log" | tail -1)
    local extra=(); [ -n "$SECURE" ] && mapfile -t extra < <(scram_args)
    java_run kafka.tools.StorageTool format --config "$K/server.properties" \
        --cluster-id "$cid" --standalone "${extra[@]}" >>"$K/format.log" 2>&1 \
      || { tail -20 "$K/format.log" >&2; die "kafka storage format failed (log: $K/format.log)"; }
  fi
  mkdir -p "$K/logs"
  nohup java $JVM_OPTS \
       -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.yaml" -Dkafka.logs.dir="$K/logs" \
       -cp "$LIBS/*" kafka.Kafka "$K/server.properties" >"$K/logs/stdout.log" 2>&1 &
  echo $! >"$K/pid"
  local port; port=$(cat "$K/port")
  if [ -n "$SECURE" ]; then
    secure_files  # admin.properties names the port now
    until port_open "$port"; do
      pid_alive "$(cat "$K/pid")" || { tail -30 "$K/logs/stdout.log" >&2; die "kafka exited during start (log: $K/logs/stdout.log)"; }
      sleep 0.3
    done
    acl_tool ready "$K/admin.properties" || die "secured kafka did not answer within 60 s (log: $K/logs/stdout.log)"
    [ -f "$K/acls-made" ] || { worker_acls worker onexgen onexgen >&2 && touch "$K/acls-made"; }
    write_client_env
    say "kafka (SASL_SSL) ready on 127.0.0.1:$port"; echo "127.0.0.1:$port"; return
  fi
  # Ready = a metadata request succeeds (not merely an open port).
  for _ in $(seq 1 120); do
    pid_alive "$(cat "$K/pid")" || { tail -30 "$K/logs/stdout.log" >&2; die "kafka exited during start (log: $K/logs/stdout.log)"; }
    if port_open "$port" && "$ROOT/infra/kafka_ready.py" "127.0.0.1:$port" 2>/dev/null; then
      say "kafka ready on 127.0.0.1:$port"; echo "127.0.0.1:$port"; return
    fi
    sleep 0.5
  done
  die "kafka did not answer within 60 s (log: $K/logs/stdout.log)"
}

stop() {
  local pid; pid=$(cat "$K/pid" 2>/dev/null || true)
  if pid_alive "$pid"; then
    kill "$pid"
    for _ in $(seq 1 60); do pid_alive "$pid" || break; sleep 0.5; done
    pid_alive "$pid" && kill -9 "$pid"
    say "kafka stopped"
  fi
  rm -f "$K/pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pid_alive "$(cat "$K/pid" 2>/dev/null)" && echo "127.0.0.1:$(cat "$K/port")" || { echo "stopped"; exit 1; } ;;
  clean) stop; rm -rf "$K/data" "$K/logs" "$K/server.properties" "$K/port" "$K/ctl_port" "$K/expired_port" \
           "$K/users" "$K/acls-made" "$K/client.env" "$K/admin.properties" ;;
  acl) shift; acl_tool "$@" ;;
  worker-acls) shift; worker_acls "$@" ;;
  fetch) fetch_jars ;;
  *) die "usage: infra/kafka.sh start|stop|status|clean|fetch|acl|worker-acls" ;;
esac
