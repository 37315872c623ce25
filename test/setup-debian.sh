#!/bin/sh
# Installs the Debian packages the demo and the test suite run for real:
# OpenLDAP (slapd + ldap-utils), Samba as an AD domain controller, Redis, openssl (test
# certificates), docker-compose (to validate compose.yaml), Caddy (compose's https profile, run in
# front of a test gateway), PostgreSQL (the bootstrap script on Paperless's database), systemd
# (systemd-analyze verifies README's unit), and for `npm run bench` wrk and
# nginx (the plain-proxy and forward-auth baselines), Chromium with fonts for the browser tests, and
# Python 3 with venv for the Django upstream (its packages come from PyPI: npm run setup:django),
# and Kerberos: libkrb5-dev and a C++ compiler to build the optional kerberos module at npm ci,
# krb5-user for the tests' kinit (Samba's KDC issues the tickets), faketime for a KDC whose
# tickets ended before the test began.
set -eu
packages="slapd ldap-utils redis-server docker-compose caddy postgresql systemd samba samba-ad-dc samba-ad-provision openssl wrk nginx-light chromium fonts-liberation python3 python3-venv libkrb5-dev krb5-user faketime g++ make"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# slapd asks debconf questions on install; the tests run their own private instances anyway.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
# Debian starts the packaged daemons; the suite never uses them, so leave the machine as it was.
$SUDO service slapd stop >/dev/null 2>&1 || true
$SUDO service samba-ad-dc stop >/dev/null 2>&1 || true
$SUDO service nginx stop >/dev/null 2>&1 || true
# Only those this run installed: a PostgreSQL the machine already ran stays as it was.
for p in caddy postgresql; do
  case " $missing " in *" $p "*) $SUDO service "$p" stop >/dev/null 2>&1 || true ;; esac
done
