// REST against this origin with the session cookie, the shapes the app
// reads (functions/docs/openapi.json has them all), and a DOM helper.

export interface ConversationAgent { id: string; name: string; handle: string }
export interface Conversation {
  id: string;
  kind: "direct" | "group";
  title: string;
  lastSeq: number;
  unreadCount: number;
  agents: ConversationAgent[];
}
export interface Page<T> { items: T[]; nextCursor: string | null; prevCursor: string | null }
export interface Agent { id: string; name: string; handle: string; description: string; visibility: "private" | "public" }
export interface ReactionCount { emoji: string; count: number; me: boolean }

/** el returns the element of index.html with that id. */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from index.html`);
  return e as T;
}

/** A REST route's refusal: the server's code and message (and HTTP status). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** api calls a REST route; errors are ApiErrors carrying the server's code and message. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { accept: "application/json", "content-type": "application/json" };
  }
  const r = await fetch(path, init);
  const data: unknown = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(r.status, e?.code ?? "", e?.message ?? `${method} ${path}: ${r.status}`);
  }
  return data as T;
}

/** ids splits a field of ids separated by commas or spaces. */
export function ids(s: string): string[] {
  return s.split(/[\s,]+/).filter((x) => x !== "");
}

/** handleOf is the server's ari.AgentHandle: the @handle a name gives. */
export function handleOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64).replace(/-+$/, "");
}
