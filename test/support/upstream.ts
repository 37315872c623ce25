/**
 * The Paperless the gateway talks to in a test: the TypeScript simulator (fast, fault
 * injection) or the Django upstream (Paperless's own auth stack, so Django's parsers).
 * Tests that define how Paperless behaves, and the end-to-end flows, are written against
 * this interface and run on both.
 */
import type { RecordedRequest, SimOptions } from './paperless-sim.js';

export type UpstreamKind = 'simulator' | 'django';

/** Paperless settings both upstreams honour (the PAPERLESS_* variables of the contract). */
export type UpstreamOptions = Omit<SimOptions, 'maxPageSize'>;

export interface UpstreamUser {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_staff: boolean;
  is_active: boolean;
  is_superuser: boolean;
  groups: number[];
  user_permissions: string[];
}

export interface NewUser {
  username: string;
  /** A local Paperless password; without one the user cannot sign in to Paperless itself. */
  password?: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  is_staff?: boolean;
  is_superuser?: boolean;
  is_active?: boolean;
  /** Group names (created first with addGroup). */
  groups?: string[];
  user_permissions?: string[];
}

/** A document as an admin sets it up in Paperless: its owner, and whom it is shared with for viewing. */
export interface NewDocument {
  title: string;
  /** A username; without one the document has no owner (as one from the consume folder). */
  owner?: string;
  /** Usernames given the object permission view_document. */
  viewUsers?: string[];
  /** Group names given the object permission view_document. */
  viewGroups?: string[];
}

export interface Upstream {
  readonly kind: UpstreamKind;
  readonly url: string;
  readonly port: number;
  /** Starts, or starts again after stop() on the same port with the same data. */
  start(port?: number): Promise<void>;
  /** Stops answering (to simulate an outage); the data is kept. */
  stop(): Promise<void>;
  /** Stops and removes everything. */
  destroy(): Promise<void>;
  addUser(user: NewUser): Promise<UpstreamUser>;
  addGroup(name: string, permissions?: string[]): Promise<{ id: number; name: string; permissions: string[] }>;
  user(username: string): Promise<UpstreamUser | undefined>;
  /** The user's API token, made on first use (and the user too, as Paperless's CLI would). */
  tokenFor(username: string): Promise<string>;
  /**
   * Adds a document. /api/documents/ then shows it as Paperless does: to its owner, to the users
   * and groups it is shared with, to everyone with view_document when it has no owner, and to
   * superusers; GET /api/documents/ID/ of one the user may not see is a 404.
   */
  addDocument(document: NewDocument): Promise<{ id: number }>;
  addShareLink(slug: string, options?: { expired?: boolean }): Promise<void>;
  /** Who a Paperless session belongs to; undefined when it does not exist (flushed, never made). */
  sessionUser(sessionKey: string): Promise<string | undefined>;
  /** Where the request record ends now; pass it to requestsSince. */
  mark(): Promise<number>;
  /** Requests as Paperless parsed them, in order, since a mark (the control API's own excluded). */
  requestsSince(mark: number): Promise<RecordedRequest[]>;
  uploads(): Promise<Array<{ user: string; bytes: number }>>;
  /** Sends a status message on /ws/status/ about a document the user owns. */
  sendStatus(owner: string, status: string): Promise<void>;
}

/** Which upstreams a run covers: TEST_UPSTREAM=simulator|django|both (default both). */
export function upstreamKinds(): UpstreamKind[] {
  const wanted = process.env.TEST_UPSTREAM ?? 'both';
  if (wanted === 'both') return ['simulator', 'django'];
  if (wanted === 'simulator' || wanted === 'django') return [wanted];
  throw new Error(`TEST_UPSTREAM must be simulator, django or both, not "${wanted}"`);
}
