#!/usr/bin/env bash
# Prove the gate works: run this project's mail-security suite (pytest.ini, conftest.py, your own
# tests) against the bundled reference sendmail, and check that it passes or fails as it should.
#
#   lab-gate.sh PROFILE pass|fail [pytest args...]
#   lab-gate.sh secure pass              # the secure profile must pass
#   lab-gate.sh cleartext-auth fail      # AUTH before STARTTLS must fail the run
#
# Needs root and sendmail (apt-get install sendmail sasl2-bin libsasl2-modules m4): the reference
# sendmail runs in a private namespace on loopback. In a throwaway CI container that may not create
# namespaces (GitLab's docker executor), set SMTPSEC_LAB_IN_CONTAINER=1: the lab then writes the
# container's own /etc/hosts and friends. Never set it on a machine you care about.
# PYTHON names the interpreter that has pytest-smtpsec (default: python3).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 PROFILE pass|fail [pytest args...]" >&2; exit 2; }
profile=$1 expect=$2
shift 2
python=${PYTHON:-python3}

state=$(mktemp -d /tmp/smtpsec-lab.XXXXXX)  # mode 700: sendmail refuses keys under writable directories
container=()
[ "${SMTPSEC_LAB_IN_CONTAINER:-}" = 1 ] && container=(--no-namespace)
trap '"$python" -m pytest_smtpsec.lab stop --state-dir "$state" || true; rm -rf "$state"' EXIT
"$python" -m pytest_smtpsec.lab start --profile "$profile" --state-dir "$state" "${container[@]}" >/dev/null

# The lab's target.json says where it listens, which CA signed its certificate and how to log in.
mapfile -t options < <("$python" - "$state/target.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
print(f"--smtpsec-host={t['host']}")
print(f"--smtpsec-tls-name={t['tls_name']}")
print(f"--smtpsec-ca-file={t['ca_file']}")
print(f"--smtpsec-user={t['user']}")
for service, port in t["ports"].items():
    print(f"--smtpsec-{service}-port={port or 'off'}")
PY
)
SMTPSEC_PASSWORD=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["password"])' "$state/target.json")
export SMTPSEC_PASSWORD

echo "lab-gate: reference sendmail '$profile', expecting the suite to $expect"
status=0
"$python" -m pytest --smtpsec "${options[@]}" -p no:cacheprovider "$@" || status=$?
case "$expect/$status" in
  pass/0) echo "lab-gate: passed, as it should" ;;
  fail/1) echo "lab-gate: failed, as it should: the gate catches profile '$profile'"; status=0 ;;
  pass/*) echo "lab-gate: the suite failed (status $status) on '$profile', which should pass" >&2 ;;
  fail/0) echo "lab-gate: the suite PASSED on '$profile', which it should catch" >&2; status=1 ;;
  *) echo "lab-gate: the suite could not run (status $status)" >&2 ;;
esac
exit "$status"
