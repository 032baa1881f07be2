// The WebSocket the SDK uses: the one given in the options, else the
// runtime's own (browsers, Deno, Bun, Node 22+), else the `ws` package (Node 20).

/** The part of the WHATWG WebSocket interface the SDK uses; `ws` and native sockets both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export const OPEN = 1;

/** Which WebSocket the SDK uses: the one given, the runtime's own, or the `ws` package's. */
export type WebSocketSource = "given" | "native" | "ws";

export async function webSocketConstructor(given?: WebSocketConstructor): Promise<{ WS: WebSocketConstructor; source: WebSocketSource }> {
  if (given) return { WS: given, source: "given" };
  const native = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof native === "function") return { WS: native as WebSocketConstructor, source: "native" };
  const mod = (await import("ws")) as unknown as { WebSocket: WebSocketConstructor };
  return { WS: mod.WebSocket, source: "ws" };
}

/** terminate drops a socket at once when the library can (ws), else closes it. */
export function terminate(ws: WebSocketLike): void {
  const t = (ws as { terminate?: () => void }).terminate;
  if (typeof t === "function") t.call(ws);
  else ws.close();
}
