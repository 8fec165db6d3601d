# Sourced by ./hv and ./test: sets JAVA_HOME to a JDK 21 or newer (JAVA_HOME if it is new enough,
# otherwise the newest JDK installed on the machine) and puts it first on PATH.
jhv_java_major() { # $1: java binary -> major version on stdout
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1 | sed 's/^1\.//'
}
jhv_find_jdk() {
  local best="" best_v=0 cand v
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    v=$(jhv_java_major "$JAVA_HOME/bin/java")
    if [ "${v:-0}" -ge 21 ] 2>/dev/null; then echo "$JAVA_HOME"; return 0; fi
  fi
  for cand in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -x "$cand/bin/javac" ] || continue
    v=$(jhv_java_major "$cand/bin/java")
    [ -n "$v" ] || continue
    if [ "$v" -gt "$best_v" ] 2>/dev/null; then best="$cand"; best_v="$v"; fi
  done
  if [ -z "$best" ] && command -v javac >/dev/null 2>&1; then
    cand=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    v=$(jhv_java_major "$cand/bin/java")
    [ "${v:-0}" -ge 21 ] 2>/dev/null && best="$cand" && best_v="$v"
  fi
  if [ -z "$best" ] || [ "$best_v" -lt 21 ]; then
    echo "jhv needs a JDK 21 or newer; none found (JAVA_HOME=${JAVA_HOME:-unset}, /usr/lib/jvm searched)" >&2
    return 1
  fi
  echo "$best"
}
JAVA_HOME=$(jhv_find_jdk) || exit 1
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
