#!/usr/bin/env bash
# Start a throwaway FreeRADIUS 3.2 (Debian package `freeradius`) that authenticates
#   - EAP-TTLS/PAP against rlm_sql (driver rlm_sql_sqlite, standard radcheck schema),
#   - EAP-TLS with client certificates chained to CA_PEM,
# with a complete minimal raddb generated into DIR (nothing under /etc/freeradius is
# read or changed). rlm_sql queries SQLITE_DB on every request, so rows inserted into or
# deleted from radcheck while the server runs take effect at once.
#
# Usage: tools/freeradius/start.sh DIR SQLITE_DB CA_PEM [PORT]
#   DIR        config/state directory (created; generated files are overwritten)
#   SQLITE_DB  SQLite file; the standard FreeRADIUS tables are created if absent
#   CA_PEM     CA certificate(s) (PEM, may be a bundle) that EAP-TLS client certs chain to
#   PORT       UDP auth port on 127.0.0.1 (default 18120); accounting is PORT+1
# Clients: 127.0.0.1 with secret `testing123`.
# Prints the path of DIR/server-ca.pem (the CA eapol_test must trust) on stdout.
# The server runs as the invoking user (root or not); its pid is in DIR/radiusd.pid and
# its log in DIR/radius.log. FR_DEBUG=1 in the environment adds debug output (-xx) to it.
# Stop it with tools/freeradius/stop.sh DIR.
set -euo pipefail

usage() { echo "usage: $0 DIR SQLITE_DB CA_PEM [PORT]" >&2; exit 2; }
(($# >= 3 && $# <= 4)) || usage
DIR="$(realpath -m "$1")"
DB="$(realpath -m "$2")"
CA_PEM="$(realpath -m "$3")"
PORT="${4:-18120}"
case "$PORT" in '' | *[!0-9]*) echo "PORT must be a number" >&2; exit 2 ;; esac
ACCT_PORT=$((PORT + 1))

die() { echo "start.sh: $*" >&2; exit 1; }

# --- prerequisites --------------------------------------------------------------------
RADIUSD="$(command -v freeradius || command -v radiusd || true)"
[ -n "$RADIUSD" ] || die "freeradius not found (apt-get install -y freeradius)"
for b in radclient openssl sqlite3; do
  command -v "$b" >/dev/null || die "$b not found (apt-get install -y freeradius-utils openssl sqlite3)"
done
# Module directory (Debian: /usr/lib/freeradius); FR_LIBDIR overrides.
LIBDIR="${FR_LIBDIR:-}"
if [ -z "$LIBDIR" ]; then
  for d in /usr/lib/freeradius /usr/lib64/freeradius /usr/local/lib/freeradius \
    /usr/lib/x86_64-linux-gnu/freeradius /usr/lib/aarch64-linux-gnu/freeradius; do
    if [ -e "$d/rlm_sql_sqlite.so" ]; then LIBDIR="$d"; break; fi
  done
fi
[ -e "${LIBDIR:-/nonexistent}/rlm_sql_sqlite.so" ] || die "rlm_sql_sqlite.so not found (set FR_LIBDIR)"
[ -r "$CA_PEM" ] || die "CA_PEM $CA_PEM is not readable"
grep -q 'BEGIN CERTIFICATE' "$CA_PEM" || die "CA_PEM $CA_PEM holds no PEM certificate"

# Refuse to start twice on the same DIR.
if [ -s "$DIR/radiusd.pid" ] && kill -0 "$(cat "$DIR/radiusd.pid")" 2>/dev/null; then
  die "a server from $DIR is already running (pid $(cat "$DIR/radiusd.pid")); run stop.sh $DIR"
fi

mkdir -p "$DIR"/{certs,mods-enabled,sites-enabled,mods-config,radacct}
chmod 700 "$DIR/certs"
rm -f "$DIR/radiusd.pid" "$DIR/radius.log"

# --- SQL schema -----------------------------------------------------------------------
# The standard FreeRADIUS SQLite schema. Debian ships it under /etc/freeradius, which is
# readable only by root/freerad; otherwise the authorization tables (identical
# definitions) below are used. CREATE INDEX is made idempotent so that running this on
# an existing database (e.g. one the Provisioning Server created) only adds what is missing.
mkdir -p "$(dirname "$DB")"
SCHEMA=/etc/freeradius/3.0/mods-config/sql/main/sqlite/schema.sql
if [ -r "$SCHEMA" ]; then
  sed -e 's/CREATE INDEX /CREATE INDEX IF NOT EXISTS /; s/CREATE UNIQUE INDEX /CREATE UNIQUE INDEX IF NOT EXISTS /' \
    "$SCHEMA" >"$DIR/schema.sql"
else
  cat >"$DIR/schema.sql" <<'EOF'
CREATE TABLE IF NOT EXISTS radcheck (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username varchar(64) NOT NULL default '',
	attribute varchar(64)  NOT NULL default '',
	op char(2) NOT NULL DEFAULT '==',
	value varchar(253) NOT NULL default ''
);
CREATE INDEX IF NOT EXISTS check_username ON radcheck(username);
CREATE TABLE IF NOT EXISTS radgroupcheck (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	groupname varchar(64) NOT NULL default '',
	attribute varchar(64)  NOT NULL default '',
	op char(2) NOT NULL DEFAULT '==',
	value varchar(253)  NOT NULL default ''
);
CREATE INDEX IF NOT EXISTS check_groupname ON radgroupcheck(groupname);
CREATE TABLE IF NOT EXISTS radgroupreply (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	groupname varchar(64) NOT NULL default '',
	attribute varchar(64)  NOT NULL default '',
	op char(2) NOT NULL DEFAULT '=',
	value varchar(253)  NOT NULL default ''
);
CREATE INDEX IF NOT EXISTS reply_groupname ON radgroupreply(groupname);
CREATE TABLE IF NOT EXISTS radreply (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username varchar(64) NOT NULL default '',
	attribute varchar(64) NOT NULL default '',
	op char(2) NOT NULL DEFAULT '=',
	value varchar(253) NOT NULL default ''
);
CREATE INDEX IF NOT EXISTS reply_username ON radreply(username);
CREATE TABLE IF NOT EXISTS radusergroup (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username varchar(64) NOT NULL default '',
	groupname varchar(64) NOT NULL default '',
	priority int(11) NOT NULL default '1'
);
CREATE INDEX IF NOT EXISTS usergroup_username ON radusergroup(username);
EOF
fi
sqlite3 -bail "$DB" <"$DIR/schema.sql" || die "could not create the schema in $DB"

# --- certificates ---------------------------------------------------------------------
# A fresh throwaway server CA and a P-256 ECDSA server certificate signed by it.
# certificate_file holds the chain (leaf + CA); ca_file holds only the EAP-TLS client CA(s),
# so certificates from the throwaway CA are not accepted as client certificates.
C="$DIR/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
  -keyout "$C/server-ca.key" -out "$C/server-ca.pem" -subj "/CN=FreeRADIUS test server CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$C/server.key" -out "$C/server.csr" -subj "/CN=localhost" 2>/dev/null
cat >"$C/server.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost
EOF
openssl x509 -req -in "$C/server.csr" -CA "$C/server-ca.pem" -CAkey "$C/server-ca.key" \
  -CAcreateserial -days 3650 -sha256 -extfile "$C/server.ext" -out "$C/server.crt" 2>/dev/null
cat "$C/server.crt" "$C/server-ca.pem" >"$C/server.pem"
cp "$CA_PEM" "$C/client-ca.pem"
cp "$C/server-ca.pem" "$DIR/server-ca.pem"
chmod 600 "$C"/*.key

# --- raddb ----------------------------------------------------------------------------
# Values are quoted, so DIR and SQLITE_DB may contain spaces (but not double quotes).
cat >"$DIR/radiusd.conf" <<EOF
# Generated by tools/freeradius/start.sh - minimal FreeRADIUS 3.2 configuration.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = \${exec_prefix}/sbin
logdir = "$DIR"
raddbdir = "$DIR"
radacctdir = "$DIR/radacct"
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
certdir = \${confdir}/certs
cadir = \${confdir}/certs
run_dir = "$DIR"
db_dir = "$DIR"
libdir = "$LIBDIR"
pidfile = "$DIR/radiusd.pid"
correct_escapes = true
max_request_time = 30
cleanup_delay = 5
max_requests = 16384
hostname_lookups = no

log {
	destination = files
	colourise = no
	file = "$DIR/radius.log"
	stripped_names = no
	# one "Login OK" / "Login incorrect" line per request
	auth = yes
	auth_badpass = no
	auth_goodpass = no
}

# No security.user/group: the server keeps the invoking user's identity (root included),
# so it can read SQLITE_DB and DIR exactly as the caller can.
security {
	allow_core_dumps = no
	max_attributes = 200
	# no artificial delay of Access-Reject (tests run many rejects)
	reject_delay = 0
	# answer Status-Server on the auth port (used as readiness probe)
	status_server = yes
}

proxy_requests = no
\$INCLUDE clients.conf

thread pool {
	start_servers = 2
	max_servers = 8
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
	auto_limit_acct = no
}

modules {
	\$INCLUDE mods-enabled/
}
instantiate {
}
policy {
}
\$INCLUDE sites-enabled/
EOF

cat >"$DIR/clients.conf" <<'EOF'
client localhost {
	ipaddr = 127.0.0.1
	proto = udp
	secret = testing123
	require_message_authenticator = no
	nas_type = other
}
EOF

# Local dictionary additions: none (the server loads /usr/share/freeradius itself).
echo "# no local dictionary entries" >"$DIR/dictionary"

cat >"$DIR/mods-enabled/pap" <<'EOF'
pap {
	normalise = yes
}
EOF

# `ok` as used in the virtual servers is an rlm_always instance.
cat >"$DIR/mods-enabled/always" <<'EOF'
always ok {
	rcode = ok
}
EOF

cat >"$DIR/mods-enabled/sql" <<EOF
# rlm_sql on SQLite with the standard schema and queries (authorization only).
sql {
	dialect = "sqlite"
	driver = "rlm_sql_sqlite"
	sqlite {
		filename = "$DB"
		# wait for a concurrent writer (the Provisioning Server) instead of failing
		busy_timeout = 5000
	}
	radius_db = "radius"
	acct_table1 = "radacct"
	acct_table2 = "radacct"
	postauth_table = "radpostauth"
	authcheck_table = "radcheck"
	groupcheck_table = "radgroupcheck"
	authreply_table = "radreply"
	groupreply_table = "radgroupreply"
	usergroup_table = "radusergroup"
	client_table = "nas"
	read_clients = no
	read_groups = yes
	read_profiles = no
	delete_stale_sessions = no
	group_attribute = "SQL-Group"
	pool {
		start = 1
		min = 1
		max = 8
		spare = 2
		uses = 0
		retry_delay = 1
		lifetime = 0
		idle_timeout = 60
	}
	sql_user_name = "%{User-Name}"
	authorize_check_query = "\\
		SELECT id, username, attribute, value, op \\
		FROM \${authcheck_table} \\
		WHERE username = '%{SQL-User-Name}' \\
		ORDER BY id"
	authorize_reply_query = "\\
		SELECT id, username, attribute, value, op \\
		FROM \${authreply_table} \\
		WHERE username = '%{SQL-User-Name}' \\
		ORDER BY id"
	group_membership_query = "\\
		SELECT groupname \\
		FROM \${usergroup_table} \\
		WHERE username = '%{SQL-User-Name}' \\
		ORDER BY priority"
	authorize_group_check_query = "\\
		SELECT id, groupname, attribute, value, op \\
		FROM \${groupcheck_table} \\
		WHERE groupname = '%{\${group_attribute}}' \\
		ORDER BY id"
	authorize_group_reply_query = "\\
		SELECT id, groupname, attribute, value, op \\
		FROM \${groupreply_table} \\
		WHERE groupname = '%{\${group_attribute}}' \\
		ORDER BY id"
}
EOF

cat >"$DIR/mods-enabled/eap" <<EOF
eap {
	default_eap_type = ttls
	timer_expire = 60
	ignore_unknown_eap_types = no
	cisco_accounting_username_bug = no
	max_sessions = \${max_requests}

	tls-config tls-common {
		private_key_file = "$C/server.key"
		# leaf + throwaway server CA
		certificate_file = "$C/server.pem"
		# CA(s) that EAP-TLS client certificates must chain to
		ca_file = "$C/client-ca.pem"
		cipher_list = "DEFAULT"
		cipher_server_preference = no
		# EAP over TLS 1.3 is still marked experimental in FreeRADIUS 3.2
		tls_min_version = "1.2"
		tls_max_version = "1.2"
		# empty: OpenSSL's default groups (P-256 / X25519 ...)
		ecdh_curve = ""
		check_crl = no
		cache {
			enable = no
		}
		verify {
		}
		ocsp {
			enable = no
		}
	}

	# EAP-TLS: the client certificate must verify against ca_file, then check-eap-tls
	# binds it to the EAP identity.
	tls {
		tls = tls-common
		virtual_server = "check-eap-tls"
	}

	# EAP-TTLS: the inner request (PAP) goes to the inner-tunnel server.
	ttls {
		tls = tls-common
		copy_request_to_tunnel = no
		use_tunneled_reply = no
		virtual_server = "inner-tunnel"
	}
}
EOF

cat >"$DIR/sites-enabled/default" <<EOF
server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = $PORT
	}
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = $ACCT_PORT
	}
	authorize {
		eap {
			ok = return
			updated = return
		}
		# answer the Status-Server readiness probe
		Autz-Type Status-Server {
			ok
		}
	}
	authenticate {
		Auth-Type eap {
			eap
		}
	}
	preacct {
	}
	accounting {
		ok
	}
	post-auth {
		Post-Auth-Type REJECT {
			eap
		}
	}
}
EOF

cat >"$DIR/sites-enabled/check-eap-tls" <<'EOF'
# After the client certificate verified against the owner's CA. A certificate that names an
# NAI (SAN rfc822Name, as the PVS issues them) is bound to it: the EAP identity must be that
# NAI. FreeRADIUS 3.2 does not expose a SAN URI, so URI-named certificates are not bound.
server check-eap-tls {
	authorize {
		if (&TLS-Client-Cert-Subject-Alt-Name-Email && ("%{TLS-Client-Cert-Subject-Alt-Name-Email}" != "%{User-Name}")) {
			update config {
				&Auth-Type := Reject
			}
		}
		else {
			update config {
				&Auth-Type := Accept
			}
		}
	}
}
EOF

cat >"$DIR/sites-enabled/inner-tunnel" <<'EOF'
# Inside the TTLS tunnel: the password comes from radcheck (SSHA2-256-Password := as the PVS
# writes it, or Cleartext-Password :=) via rlm_sql, and pap checks the inner User-Password
# against it. A user without a radcheck
# row gets no Auth-Type and is rejected.
server inner-tunnel {
	authorize {
		sql
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	post-auth {
		Post-Auth-Type REJECT {
			update outer.session-state {
				&Module-Failure-Message := &request:Module-Failure-Message
			}
		}
	}
}
EOF

# --- check and start ------------------------------------------------------------------
if ! "$RADIUSD" -C -d "$DIR" -l stdout </dev/null >"$DIR/check.log" 2>&1; then
  tail -n 30 "$DIR/check.log" >&2
  die "configuration check failed (see $DIR/check.log)"
fi

DEBUG_FLAGS=()
[ "${FR_DEBUG:-0}" = 1 ] && DEBUG_FLAGS=(-xx)
# Daemon mode: the parent returns once the child has bound its sockets (non-zero on
# failure); the child detaches, writes DIR/radiusd.pid and logs to DIR/radius.log.
# stdio goes to a file so a caller reading our stdout does not wait on the daemon.
if ! "$RADIUSD" -d "$DIR" -l "$DIR/radius.log" "${DEBUG_FLAGS[@]}" \
  </dev/null >>"$DIR/radiusd.out" 2>&1; then
  tail -n 30 "$DIR/radius.log" "$DIR/radiusd.out" >&2 2>/dev/null || true
  die "freeradius failed to start"
fi

# Wait for the pid file and for an answer to Status-Server.
for _ in $(seq 1 100); do
  [ -s "$DIR/radiusd.pid" ] && break
  sleep 0.1
done
[ -s "$DIR/radiusd.pid" ] || die "no pid file $DIR/radiusd.pid"
ok=0
for _ in $(seq 1 50); do
  if echo "Message-Authenticator = 0x00" |
    radclient -q -r 1 -t 1 "127.0.0.1:$PORT" status testing123 >/dev/null 2>&1; then
    ok=1; break
  fi
  kill -0 "$(cat "$DIR/radiusd.pid")" 2>/dev/null || break
  sleep 0.2
done
if [ "$ok" != 1 ]; then
  tail -n 30 "$DIR/radius.log" >&2 2>/dev/null || true
  die "freeradius does not answer on 127.0.0.1:$PORT"
fi
echo "$DIR/server-ca.pem"
