/** Asks `check` every `intervalMs` until it says yes; throws `failure` after `tries` noes. */
export async function pollUntil(check: () => Promise<boolean>, failure: string, tries = 100, intervalMs = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(failure);
}
