import type { SyncPlan, SyncSummary } from './sync.js';

/** The plan as rows a person reads: one action per line. */
export function planTable(plan: SyncPlan): string {
  const rows: string[][] = [];
  for (const name of plan.createGroups) rows.push(['create group', name, '']);
  const membership = (m: { add: string[]; remove: string[] }) =>
    [...m.add.map((g) => `+${g}`), ...m.remove.map((g) => `-${g}`)].join(' ');
  for (const u of plan.create) {
    const flags = [u.state.account.is_superuser ? 'superuser' : '', u.state.account.is_staff && !u.state.account.is_superuser ? 'staff' : ''].filter(Boolean);
    rows.push(['create user', u.username, [membership(u.membership), ...flags].filter(Boolean).join('; ')]);
  }
  for (const u of plan.update) rows.push(['update user', u.username, [u.fields.join(', '), membership(u.membership)].filter(Boolean).join('; ')]);
  for (const d of plan.deactivate) rows.push(['deactivate', d.username, ['sessions revoked', d.removeGroups.map((g) => `-${g}`).join(' ')].filter(Boolean).join('; ')]);
  for (const p of plan.protected) rows.push(['keep active', p.username, p.reason]);
  if (rows.length === 0) return 'Paperless already matches the directory.\n';
  const header = ['ACTION', 'NAME', 'DETAILS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] ?? 0) : c)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function planSummary(plan: SyncPlan): string {
  const summary = `Plan: ${plan.create.length} to create, ${plan.update.length} to update, ${plan.deactivate.length} to deactivate, ${plan.createGroups.length} groups to create, ${plan.unchanged} unchanged.`;
  return plan.halt ? `${summary}\nStopped: ${plan.halt}. This plan will not be applied.` : summary;
}

export function appliedSummary(s: SyncSummary): string {
  return `Applied: ${s.created} created, ${s.updated} updated, ${s.deactivated} deactivated (${s.sessionsRevoked} sessions revoked), ${s.groupsCreated} groups created, ${s.unchanged} unchanged.`;
}

/** The plan as JSON: the desired accounts, not the internals used to reach them. */
export function planJson(plan: SyncPlan) {
  const user = (u: SyncPlan['create'][number]) => ({ username: u.username, fields: u.fields, membership: u.membership, desired: u.state.account });
  return {
    create: plan.create.map(user),
    update: plan.update.map(user),
    deactivate: plan.deactivate,
    protected: plan.protected,
    createGroups: plan.createGroups,
    unchanged: plan.unchanged,
    ...(plan.halt ? { halt: plan.halt } : {}),
  };
}
