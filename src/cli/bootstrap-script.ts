/**
 * The Python that gives the gateway its own Paperless superuser, gateway+service, with exactly
 * the token in GATEWAY_PAPERLESS_TOKEN. compose.yaml's paperless-bootstrap service runs the same
 * text (test/compose.test.ts holds them equal); without Docker an admin runs it with
 * `python3 manage.py shell -c "$(paperless-ldap-gateway paperless-bootstrap-script)"`.
 * Idempotent; it waits up to 15 minutes for Paperless's migrations, so it may start first.
 * One line a string, so no Python statement sits at a TypeScript line's start.
 */
export const PAPERLESS_BOOTSTRAP_SCRIPT = `${[
  `import os, re, sys, time`,
  `from django.db import connection`,
  `from django.db.migrations.executor import MigrationExecutor`,
  `NAME = "gateway+service"`,
  `key = os.environ.get("GATEWAY_PAPERLESS_TOKEN", "").strip()`,
  `if not re.fullmatch(r"[0-9A-Za-z]{32,40}", key):`,
  `    sys.exit("GATEWAY_PAPERLESS_TOKEN must be 32 to 40 letters and digits (paperless-ldap-gateway init writes one)")`,
  `deadline = time.monotonic() + 900`,
  `while True:`,
  `    try:`,
  `        executor = MigrationExecutor(connection)`,
  `        if not executor.migration_plan(executor.loader.graph.leaf_nodes()):`,
  `            break`,
  `    except Exception as err:`,
  `        print("Paperless's database is not ready yet:", err, flush=True)`,
  `    if time.monotonic() > deadline:`,
  `        sys.exit("Paperless has not created its database within 15 minutes: see the paperless service's log")`,
  `    time.sleep(3)`,
  `from django.contrib.auth.models import User`,
  `from rest_framework.authtoken.models import Token`,
  `holder = Token.objects.filter(key=key).select_related("user").first()`,
  `if holder is not None and holder.user.username != NAME:`,
  `    if holder.user.is_superuser and holder.user.is_active:`,
  `        print(f"GATEWAY_PAPERLESS_TOKEN is the token of the superuser {holder.user.username}; nothing to do")`,
  `        sys.exit(0)`,
  `    sys.exit(f"GATEWAY_PAPERLESS_TOKEN belongs to {holder.user.username}, who is not an active superuser: write a new one (paperless-ldap-gateway init prints one with --output -)")`,
  `user, created = User.objects.get_or_create(username=NAME)`,
  `user.is_superuser = user.is_staff = user.is_active = True`,
  `if user.has_usable_password():`,
  `    user.set_unusable_password()`,
  `user.save()`,
  `replaced = Token.objects.filter(user=user).exclude(key=key).delete()[0]`,
  `Token.objects.get_or_create(user=user, key=key)`,
  `print(f"Paperless superuser {NAME}", "created" if created else "checked", "with the gateway's token" + (" (the old one was replaced)" if replaced else ""))`,
].join('\n')}\n`;
